/**
 * The gate's inputs for k6: perf/gate/scenarios.json (what to run) and perf/gate/thresholds.json
 * (what must hold), the same files the ghz + Go driver gate reads, turned into k6 `options`.
 *
 * - Mode: `MODE=smoke|full` (default smoke) picks warmup, measured duration and replay size.
 * - Each gate scenario runs for warmup + duration (+ a drain where workers finish a backlog). The
 *   measured window is [scenario start + warmup, + duration): the scripts only record samples whose
 *   completion time falls inside it (see `inWindow`), so k6's whole-run rates, setup time, warmup
 *   and graceful stops never dilute a figure.
 * - Rates become counts: a rate limit R over a window of D seconds is the threshold `count>=R·D`
 *   on a Counter that only counts inside the window. Latency limits are `p(99)<=L` on Trends (ms).
 * - Gate scenarios in one script run one after another (`startTime`), never concurrently, so each
 *   gets the server to itself, as in the ghz/driver gate.
 * - Smoke mode enforces only `global` (errors, lost) and that every scenario made progress; full
 *   mode adds every limit of thresholds.json (its `gate` value when present, else `target`).
 * - `ratioToReferenceMin` needs the reference's rate (pgbench inserts, the echo server), which k6
 *   cannot measure: pass it as `REFERENCE_RATE_<REFERENCE>` (e.g. `REFERENCE_RATE_ECHO=41000`) or
 *   `REFERENCE_RATE` (used for every ratio threshold of the run); without it that threshold is
 *   skipped and the summary says so.
 */
import exec from 'k6/execution';
import type { ConstantVUsScenario, Options, PerVUIterationsScenario, Scenario, Threshold } from 'k6/options';

// ---------------------------------------------------------------------------------------------
// The files

export type Mode = 'smoke' | 'full';

export interface ModeSettings {
  warmupSeconds: number;
  durationSeconds: number;
  replayEvents: number;
}

/** One scenario of scenarios.json; which fields are set depends on the scenario. */
export interface ScenarioDefinition {
  description: string;
  runner: 'ghz' | 'driver';
  reference?: string;
  concurrency?: number;
  eventsPerCall?: number;
  jobs?: number;
  pageSize?: number;
  toolCalls?: number;
  producers?: number;
  workers?: number;
  senders?: number;
  readers?: number;
  batch?: number;
  during?: string;
}

export interface GateScenarios {
  modes: Record<Mode, ModeSettings>;
  scenarios: Record<string, ScenarioDefinition>;
  references: Record<string, { description: string; concurrency: number; rowsPerTransaction?: number }>;
}

/** A metric's goal and, while the goal is not reached, the line enforced instead. */
export interface Limit {
  target: number;
  gate?: number;
  why?: string;
}

export type MetricName = 'ratioToReferenceMin' | 'eventsPerSecondMin' | 'jobsPerSecondMin' | 'p99MsMax';

export interface GateThresholds {
  global: { errorsMax: number; lostMax: number };
  scenarios: Record<string, Partial<Record<MetricName, Limit>>>;
}

// open() runs in the init context; import.meta.resolve makes the paths relative to this file
// whatever the entry script or the working directory.
export const gate = JSON.parse(open(import.meta.resolve('../../gate/scenarios.json'))) as GateScenarios;
export const limits = JSON.parse(open(import.meta.resolve('../../gate/thresholds.json'))) as GateThresholds;

function readMode(): Mode {
  const value = __ENV.MODE || 'smoke';
  if (value !== 'smoke' && value !== 'full') throw new Error(`MODE must be smoke or full, not "${value}"`);
  return value;
}

export const mode: Mode = readMode();

function readTiming(): ModeSettings {
  const settings = gate.modes[mode];
  if (!settings) throw new Error(`scenarios.json has no mode "${mode}"`);
  return settings;
}

export const timing: ModeSettings = readTiming();

/** The definition of a gate scenario; throws when scenarios.json lacks it. */
export function definition(name: string): ScenarioDefinition {
  const found = gate.scenarios[name];
  if (!found) throw new Error(`scenario ${name} missing from perf/gate/scenarios.json`);
  return found;
}

type NumericField = {
  [K in keyof ScenarioDefinition]-?: NonNullable<ScenarioDefinition[K]> extends number ? K : never;
}[keyof ScenarioDefinition];

/** A required number of a gate scenario (`concurrency`, `workers`, …); throws when absent. */
export function numberOf(name: string, field: NumericField): number {
  const value = definition(name)[field];
  if (typeof value !== 'number' || !(value > 0)) {
    throw new Error(`perf/gate/scenarios.json: ${name}.${field} must be a positive number`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The environment

const truthy = (value: string | undefined, fallback: boolean): boolean =>
  value === undefined || value === '' ? fallback : !['0', 'false', 'no', 'off'].includes(value.toLowerCase());

/** A whole number ≥ 0 from the environment variable `name`, else `fallback`. */
export function readWholeNumber(name: string, fallback: number): number {
  const raw = __ENV[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!(value >= 0) || !Number.isInteger(value)) {
    throw new Error(`${name} must be a whole number ≥ 0, not "${raw}"`);
  }
  return value;
}

export const env = {
  /** `host:port` of the server under test. */
  address: __ENV.AETHERIS_ADDRESS || '127.0.0.1:50051',
  /** An admin (or operator) key: creates jobs, appends, reads, sends signals. */
  apiKey: __ENV.AETHERIS_API_KEY || '',
  /** The key of the worker protocol (AcquireJob, tool calls, CompleteJob); the admin key if unset. */
  workerKey: __ENV.AETHERIS_WORKER_KEY || __ENV.AETHERIS_API_KEY || '',
  /** Plaintext (h2c) unless `AETHERIS_PLAINTEXT=false`, then TLS with the system roots. */
  plaintext: truthy(__ENV.AETHERIS_PLAINTEXT, true),
  /** Where handleSummary writes `k6-<script>.json`, relative to the working directory; must exist. */
  outDir: (__ENV.OUT_DIR || 'perf/out').replace(/\/+$/, ''),
  /** Seconds the worker VUs of job_e2e keep running after the window to finish the backlog. */
  drainSeconds: readWholeNumber('DRAIN_SECONDS', 15),
};

/** Fails the run early (from setup) when no key was given. */
export function requireKeys(): void {
  if (!env.apiKey) {
    throw new Error('set AETHERIS_API_KEY (an admin key of the tenant under test): k6 run -e AETHERIS_API_KEY=…');
  }
}

// ---------------------------------------------------------------------------------------------
// The measured window

/** Seconds every k6 scenario may overrun its duration to finish in-flight iterations. */
export const GRACEFUL_STOP_SECONDS = 10;

/**
 * Whether `at` (ms since the epoch, default now) is inside the measured window of the running k6
 * scenario: after its warmup, before warmup + duration. Call from VU code only.
 */
export function inWindow(at: number = Date.now()): boolean {
  const start = exec.scenario.startTime + timing.warmupSeconds * 1000;
  return at >= start && at < start + timing.durationSeconds * 1000;
}

/** Whether the running k6 scenario is past its measured window (drain, graceful stop). */
export function pastWindow(at: number = Date.now()): boolean {
  return at >= exec.scenario.startTime + (timing.warmupSeconds + timing.durationSeconds) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Options and thresholds

/** The k6 metrics a gate scenario records (all only inside the measured window). */
export interface GateMetrics {
  /** Counter of completed operations (calls, jobs, resumes, replays): the progress check. */
  ops: string;
  /** What one operation is, for the summary: `calls`, `jobs`, `resumes`, … */
  opsUnit: string;
  /** Counter of events, for scenarios measured in events/s. */
  events?: string;
  /** Trend of latencies in ms, for scenarios with a p99 limit (or just reported). */
  latency?: string;
  /** Which counter `ratioToReferenceMin` compares with the reference's rate (same unit). */
  ratioOf?: 'ops' | 'events';
}

/** One k6 scenario of a gate scenario. */
export interface K6Scenario {
  /** k6 scenario name. The one named like the gate scenario records its metrics. */
  name: string;
  /** The exported function it runs. */
  exec: string;
  vus: number;
  /** Seconds it runs past the measured window (workers draining a backlog). */
  extraSeconds?: number;
  /** One long iteration per VU (a stream held for the whole scenario) instead of a closed loop. */
  single?: boolean;
}

/** A gate scenario of scenarios.json as k6 runs it: one or more concurrent k6 scenarios. */
export interface GateGroup {
  gate: string;
  scenarios: K6Scenario[];
  metrics: GateMetrics;
}

/** A threshold as planned: enforced, or skipped with the reason. */
export interface PlannedThreshold {
  gate: string;
  /** `errors`, `lost`, `progress`, or a metric name of thresholds.json. */
  check: string;
  /** The k6 metric (or submetric) it applies to. */
  metric: string;
  /** The k6 threshold expression; empty when skipped. */
  expression: string;
  /** The limit in the gate's own unit (per second, ms, ratio). */
  limit?: number;
  target?: number;
  why?: string;
  /** For ratioToReferenceMin: the reference's rate it was computed with. */
  referenceRate?: number;
  skipped?: string;
}

export const ERRORS_METRIC = 'aetheris_errors';
export const LOST_METRIC = 'aetheris_lost';

/** `metric{scenario:name}`: the submetric of one k6 scenario (k6 tags every sample with it). */
export const forScenario = (metric: string, scenario: string): string => `${metric}{scenario:${scenario}}`;

function referenceRate(reference: string): number | undefined {
  const raw = __ENV[`REFERENCE_RATE_${reference.toUpperCase()}`] || __ENV.REFERENCE_RATE;
  if (!raw) return undefined;
  const rate = Number(raw);
  if (!(rate > 0)) {
    throw new Error(`REFERENCE_RATE(_${reference.toUpperCase()}) must be a positive number, not "${raw}"`);
  }
  return rate;
}

function plan(group: GateGroup): PlannedThreshold[] {
  const { gate: name, metrics } = group;
  const planned: PlannedThreshold[] = [
    {
      gate: name,
      check: 'progress',
      metric: forScenario(metrics.ops, name),
      expression: 'count>0',
    },
  ];
  if (mode === 'smoke') return planned;
  const seconds = timing.durationSeconds;
  const scenarioLimits = limits.scenarios[name] ?? {};
  for (const [check, limit] of Object.entries(scenarioLimits) as [MetricName, Limit][]) {
    const enforced = limit.gate ?? limit.target;
    const base = { gate: name, check, limit: enforced, target: limit.target, why: limit.why };
    const counter = (metric: string | undefined, what: string): string => {
      if (!metric) throw new Error(`${name}: thresholds.json sets ${check} but the k6 script records no ${what}`);
      return forScenario(metric, name);
    };
    switch (check) {
      case 'eventsPerSecondMin':
        planned.push({
          ...base,
          metric: counter(metrics.events, 'events'),
          expression: `count>=${Math.ceil(enforced * seconds)}`,
        });
        break;
      case 'jobsPerSecondMin':
        planned.push({
          ...base,
          metric: counter(metrics.ops, 'jobs'),
          expression: `count>=${Math.ceil(enforced * seconds)}`,
        });
        break;
      case 'p99MsMax':
        planned.push({ ...base, metric: counter(metrics.latency, 'latency'), expression: `p(99)<=${enforced}` });
        break;
      case 'ratioToReferenceMin': {
        const of = metrics.ratioOf ?? 'ops';
        const metric = counter(of === 'events' ? metrics.events : metrics.ops, of);
        const reference = definition(name).reference;
        if (!reference) throw new Error(`${name}: ratioToReferenceMin without a reference in scenarios.json`);
        const rate = referenceRate(reference);
        if (rate === undefined) {
          planned.push({
            ...base,
            metric,
            expression: '',
            skipped: `no reference rate: pass -e REFERENCE_RATE_${reference.toUpperCase()}=<${reference} ${of}/s>`,
          });
        } else {
          planned.push({
            ...base,
            metric,
            referenceRate: rate,
            expression: `count>=${Math.ceil(enforced * rate * seconds)}`,
          });
        }
        break;
      }
      default:
        throw new Error(`${name}: unknown threshold metric ${check as string} in thresholds.json`);
    }
  }
  return planned;
}

/** The gate scenarios to run: all the script has, or those named in `SCENARIOS=a,b`. */
function selected(groups: GateGroup[]): GateGroup[] {
  const only = (__ENV.SCENARIOS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (only.length === 0) return groups;
  const chosen = groups.filter((group) => only.includes(group.gate));
  if (chosen.length === 0) {
    throw new Error(`SCENARIOS=${only.join(',')} matches none of ${groups.map((g) => g.gate).join(', ')}`);
  }
  return chosen;
}

/** The plan of a script: its options and its thresholds (for the summary). */
export interface Plan {
  options: Options;
  groups: GateGroup[];
  thresholds: PlannedThreshold[];
}

/** Builds a script's k6 options from its gate scenarios, in the order given. */
export function buildPlan(all: GateGroup[]): Plan {
  const groups = selected(all);
  const scenarios: Record<string, Scenario> = {};
  const planned: PlannedThreshold[] = [];
  const grace = `${GRACEFUL_STOP_SECONDS}s`;
  let offset = 0;
  for (const group of groups) {
    let longest = 0;
    for (const spec of group.scenarios) {
      const seconds = timing.warmupSeconds + timing.durationSeconds + (spec.extraSeconds ?? 0);
      longest = Math.max(longest, seconds);
      const common = { exec: spec.exec, vus: spec.vus, startTime: `${offset}s`, gracefulStop: grace };
      if (spec.single) {
        const single: PerVUIterationsScenario = {
          executor: 'per-vu-iterations',
          iterations: 1,
          maxDuration: `${seconds + GRACEFUL_STOP_SECONDS}s`,
          ...common,
        };
        scenarios[spec.name] = single;
      } else {
        const loop: ConstantVUsScenario = { executor: 'constant-vus', duration: `${seconds}s`, ...common };
        scenarios[spec.name] = loop;
      }
    }
    offset += longest + GRACEFUL_STOP_SECONDS + 1;
    planned.push(...plan(group));
  }

  const { errorsMax, lostMax } = limits.global;
  planned.unshift(
    { gate: 'all', check: 'errors', metric: ERRORS_METRIC, expression: `count<=${errorsMax}`, limit: errorsMax },
    { gate: 'all', check: 'lost', metric: LOST_METRIC, expression: `count<=${lostMax}`, limit: lostMax },
  );
  const thresholds: Record<string, Threshold[]> = {};
  for (const threshold of planned) {
    if (!threshold.expression) continue;
    const list = thresholds[threshold.metric] ?? [];
    list.push(threshold.expression);
    thresholds[threshold.metric] = list;
  }
  // k6 keeps a submetric (`metric{scenario:x}`) in the summary only when a threshold names it:
  // always-true thresholds make every scenario's own figures reach handleSummary.
  for (const group of groups) {
    const { ops, events, latency } = group.metrics;
    for (const [metric, always] of [
      [ops, 'count>=0'],
      [events, 'count>=0'],
      [latency, 'max>=0'],
    ] as const) {
      if (!metric) continue;
      const key = forScenario(metric, group.gate);
      if (!thresholds[key]) thresholds[key] = [always];
    }
  }
  if (__VU === 0) {
    for (const skipped of planned.filter((t) => t.skipped)) {
      console.warn(`${skipped.gate} ${skipped.check}: threshold skipped (${skipped.skipped})`);
    }
  }

  return {
    groups,
    thresholds: planned,
    options: {
      scenarios,
      thresholds,
      summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
      setupTimeout: '300s',
      teardownTimeout: '120s',
    },
  };
}
