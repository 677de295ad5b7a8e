/**
 * handleSummary for every script: a short text on stdout (per gate scenario: rates over the
 * measured window, latency percentiles; every threshold with its measured value) and the whole
 * k6 summary object, plus the plan, as JSON in `<OUT_DIR>/k6-<script>.json`.
 *
 * Written here rather than with jslib's textSummary: no remote import at run time, and the rates
 * must be over the measured window, not over the whole run as k6 prints them.
 */
import { env, mode, type Plan, type PlannedThreshold, timing } from './config.ts';

/** One metric of k6's summary object (the `data` argument of handleSummary). */
export interface SummaryMetric {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  contains: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

/** The parts of k6's summary object this file reads. */
export interface SummaryData {
  metrics: Record<string, SummaryMetric>;
  state: { testRunDurationMs: number };
}

const round = (value: number, digits = 1): string =>
  Number.isFinite(value) ? (Math.round(value * 10 ** digits) / 10 ** digits).toString() : 'n/a';

/** A metric's summary, falling back from `name{scenario:x}` to `name` when k6 kept no submetric. */
function metricOf(data: SummaryData, name: string): SummaryMetric | undefined {
  return data.metrics[name] ?? data.metrics[name.replace(/\{.*\}$/, '')];
}

const metricValue = (data: SummaryData, name: string, key: string): number => metricOf(data, name)?.values[key] ?? 0;

/** The measured value of a threshold, in the unit of its limit. */
function measured(data: SummaryData, threshold: PlannedThreshold): number {
  const count = metricValue(data, threshold.metric, 'count');
  switch (threshold.check) {
    case 'eventsPerSecondMin':
    case 'jobsPerSecondMin':
      return count / timing.durationSeconds;
    case 'ratioToReferenceMin':
      return threshold.referenceRate ? count / timing.durationSeconds / threshold.referenceRate : Number.NaN;
    case 'p99MsMax':
      return metricValue(data, threshold.metric, 'p(99)');
    default:
      return count;
  }
}

function thresholdLine(data: SummaryData, threshold: PlannedThreshold): { line: string; failed: boolean } {
  const what = `${threshold.gate} ${threshold.check}`;
  const limit = threshold.limit === undefined ? '' : ` (limit ${threshold.limit}`;
  const target =
    threshold.target !== undefined && threshold.target !== threshold.limit ? `, target ${threshold.target}` : '';
  const bounds = limit ? `${limit}${target})` : '';
  if (threshold.skipped) return { line: `  - ${what}${bounds}: skipped, ${threshold.skipped}`, failed: false };
  const ok = data.metrics[threshold.metric]?.thresholds?.[threshold.expression]?.ok;
  const mark = ok === true ? '✓' : ok === false ? '✗' : '?';
  const value = round(measured(data, threshold), 3);
  return {
    line: `  ${mark} ${what}${bounds}: measured ${value}; ${threshold.metric} ${threshold.expression}`,
    failed: ok !== true,
  };
}

/** The per-scenario lines: counts and rates over the window, latency percentiles. */
function scenarioLines(plan: Plan, data: SummaryData): string[] {
  const seconds = timing.durationSeconds;
  const lines: string[] = [];
  for (const group of plan.groups) {
    const { metrics } = group;
    const parts: string[] = [];
    const ops = metricValue(data, `${metrics.ops}{scenario:${group.gate}}`, 'count');
    parts.push(`${ops} ${metrics.opsUnit}, ${round(ops / seconds)}/s`);
    if (metrics.events && metrics.events !== metrics.ops) {
      const events = metricValue(data, `${metrics.events}{scenario:${group.gate}}`, 'count');
      parts.push(`${events} events, ${round(events / seconds)}/s`);
    }
    if (metrics.latency) {
      const latency = metricOf(data, `${metrics.latency}{scenario:${group.gate}}`);
      const v = latency?.values ?? {};
      parts.push(
        `${metrics.latency.replace(/^aetheris_/, '')} ms p50 ${round(v.med ?? Number.NaN, 2)}, ` +
          `p95 ${round(v['p(95)'] ?? Number.NaN, 2)}, p99 ${round(v['p(99)'] ?? Number.NaN, 2)}, ` +
          `max ${round(v.max ?? Number.NaN, 2)}`,
      );
    }
    lines.push(`  ${group.gate}: ${parts.join('; ')}`);
  }
  return lines;
}

/** The return value of a script's handleSummary. */
export function summarize(script: string, plan: Plan, data: SummaryData): Record<string, string> {
  const checked = plan.thresholds.map((threshold) => thresholdLine(data, threshold));
  const failed = checked.filter((c) => c.failed).length;
  const enforced = plan.thresholds.filter((t) => !t.skipped).length;
  const text = [
    '',
    `Aetheris P0 gate, k6 ${script}.ts: mode ${mode}, warmup ${timing.warmupSeconds} s, ` +
      `measured window ${timing.durationSeconds} s per scenario, run ${round(data.state.testRunDurationMs / 1000)} s`,
    ...scenarioLines(plan, data),
    `  errors ${metricValue(data, 'aetheris_errors', 'count')}, lost ${metricValue(data, 'aetheris_lost', 'count')}`,
    'thresholds:',
    ...checked.map((c) => c.line),
    failed === 0
      ? `result: PASS (${enforced} thresholds)`
      : `result: FAIL (${failed} of ${enforced} thresholds failed)`,
    '',
  ].join('\n');
  const report = {
    script,
    mode,
    timing,
    thresholds: plan.thresholds,
    scenarios: Object.fromEntries(plan.groups.map((g) => [g.gate, g])),
  };
  return {
    stdout: text,
    [`${env.outDir}/k6-${script}.json`]: JSON.stringify({ ...data, aetheris: report }, null, 2),
  };
}
