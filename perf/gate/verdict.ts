/**
 * Pure: measured results against thresholds.json. Full mode enforces every limit (its `gate`
 * value when present, else its `target`) and reports targets separately; smoke mode enforces
 * only the global limits and that each scenario made progress.
 */
import type { Limit, MetricName, Mode, Thresholds } from './config.js';

/** What a runner measured for one scenario or reference. */
export interface Measurement {
  name: string;
  durationSeconds: number;
  ops: number;
  opsPerSecond: number;
  events: number;
  eventsPerSecond: number;
  latencyMs: { count: number; p50: number; p95: number; p99: number; max: number };
  errors: number;
  errorSamples: string[];
  lost: number;
  notes?: string;
  /**
   * CPU milliseconds per operation of the server process, of PostgreSQL (all backends) and of the
   * rest of the machine (the load generator, the kernel, anything else running).
   */
  cpuMsPerOp?: { server: number; postgres: number; rest?: number };
  /** pg_stat_statements over the measured run: where PostgreSQL's time went. */
  topStatements?: StatementStats[];
  /** Write amplification over the measured run, per operation: WAL bytes and row changes by table. */
  writesPerOp?: WritesPerOp;
  /** When measured in several rounds: the metric the median round was chosen by, per round. */
  rounds?: Rounds;
}

/** The metric a median round is chosen by, with its value in every round (in run order). */
export interface Rounds {
  metric: MetricName | 'eventsPerSecond' | 'opsPerSecond';
  values: number[];
}

export interface WritesPerOp {
  walBytes: number;
  tables: { table: string; inserted: number; updated: number; hotUpdated: number; deleted: number }[];
}

export interface StatementStats {
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
}

export interface ScenarioResult extends Measurement {
  reference?: { name: string; rate: number; unit: string };
  /** This scenario's rate ÷ its reference's rate, in the same unit. */
  ratioToReference?: number;
}

export interface Check {
  scenario: string;
  metric: MetricName | 'errors' | 'lost' | 'progress';
  value: number;
  limit: number;
  target?: number;
  /** The enforced limit holds. */
  pass: boolean;
  /** The target holds (same as pass when no separate gate value is set). */
  targetMet: boolean;
  /** Measured in rounds: in how many of them the target held, of how many. */
  targetMetInRounds?: [number, number];
  why?: string;
}

export function metricValue(result: ScenarioResult, metric: MetricName): number | undefined {
  switch (metric) {
    case 'ratioToReferenceMin':
      return result.ratioToReference;
    case 'eventsPerSecondMin':
      return result.eventsPerSecond;
    case 'jobsPerSecondMin':
      return result.opsPerSecond;
    case 'p99MsMax':
      return result.latencyMs.p99;
  }
}

const holds = (metric: MetricName, value: number, limit: number): boolean =>
  metric.endsWith('Max') ? value <= limit : value >= limit;

/** In how many rounds `limit` held for `metric`, of how many rounds. */
function roundsHolding(rounds: Rounds, metric: MetricName, limit: number): [number, number] {
  return [rounds.values.filter((value) => holds(metric, value, limit)).length, rounds.values.length];
}

export function evaluate(results: readonly ScenarioResult[], thresholds: Thresholds, mode: Mode): Check[] {
  const checks: Check[] = [];
  for (const result of results) {
    const { errorsMax, lostMax } = thresholds.global;
    checks.push({
      scenario: result.name,
      metric: 'errors',
      value: result.errors,
      limit: errorsMax,
      pass: result.errors <= errorsMax,
      targetMet: result.errors <= errorsMax,
    });
    checks.push({
      scenario: result.name,
      metric: 'lost',
      value: result.lost,
      limit: lostMax,
      pass: result.lost <= lostMax,
      targetMet: result.lost <= lostMax,
    });
    checks.push({
      scenario: result.name,
      metric: 'progress',
      value: result.ops,
      limit: 1,
      pass: result.ops >= 1,
      targetMet: result.ops >= 1,
    });
    if (mode === 'smoke') continue;
    const limits = thresholds.scenarios[result.name] ?? {};
    for (const [metric, limit] of Object.entries(limits) as [MetricName, Limit][]) {
      const value = metricValue(result, metric);
      const enforced = limit.gate ?? limit.target;
      const measured = value ?? Number.NaN;
      checks.push({
        scenario: result.name,
        metric,
        value: measured,
        limit: enforced,
        target: limit.target,
        pass: value !== undefined && holds(metric, measured, enforced),
        targetMet: value !== undefined && holds(metric, measured, limit.target),
        ...(result.rounds?.metric === metric
          ? { targetMetInRounds: roundsHolding(result.rounds, metric, limit.target) }
          : {}),
        why: limit.why,
      });
    }
  }
  return checks;
}
