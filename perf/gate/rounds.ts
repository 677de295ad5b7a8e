/**
 * Pure: several rounds of the same scenarios → one result per scenario. On two shared cores one
 * 20 s window varies by ±15% from the next, so the full gate runs every scenario and reference
 * several times, in turn, and keeps each one's median round: the round whose checked metric is the
 * median of its values. Errors and lost work are summed over all rounds, so a failure in any
 * round still fails the gate.
 */
import type { MetricName, Thresholds } from './config.js';
import { type Measurement, metricValue, type Rounds, type ScenarioResult } from './verdict.js';

/** A scenario's result or a reference's measurement. */
type Rankable = Measurement & Pick<ScenarioResult, 'ratioToReference'>;

/** The metric that orders rounds: the first one thresholds.json checks, else the rate. */
function orderingMetric(result: Rankable, thresholds: Thresholds): Rounds['metric'] {
  const checked = Object.keys(thresholds.scenarios[result.name] ?? {}) as MetricName[];
  const first = checked.find((metric) => metricValue(result, metric) !== undefined);
  if (first) return first;
  if (result.ratioToReference !== undefined) return 'ratioToReferenceMin';
  return result.events > 0 ? 'eventsPerSecond' : 'opsPerSecond';
}

function rankedValue(result: Rankable, metric: Rounds['metric']): number {
  if (metric === 'eventsPerSecond') return result.eventsPerSecond;
  if (metric === 'opsPerSecond') return result.opsPerSecond;
  return metricValue(result, metric) ?? Number.NaN;
}

/** Worse first: a latency ceiling is worse when higher, every other metric when lower. */
function worseFirst(metric: Rounds['metric']): (a: number, b: number) => number {
  return metric === 'p99MsMax' ? (a, b) => b - a : (a, b) => a - b;
}

/**
 * One result per name, in the order names first appear: the median round (the worse of the two
 * middle ones when the count is even), with errors, lost work and error samples of all rounds.
 */
export function medianRounds<T extends Rankable>(rounds: readonly (readonly T[])[], thresholds: Thresholds): T[] {
  const byName = new Map<string, T[]>();
  for (const round of rounds) {
    for (const result of round) byName.set(result.name, [...(byName.get(result.name) ?? []), result]);
  }
  return [...byName.values()].map((runs) => {
    const first = runs[0] as T;
    const metric = orderingMetric(first, thresholds);
    const values = runs.map((run) => rankedValue(run, metric));
    const order = worseFirst(metric);
    const ranked = runs.map((run, index) => ({ run, value: values[index] ?? Number.NaN }));
    ranked.sort((a, b) => order(a.value, b.value));
    const median = ranked[Math.floor((ranked.length - 1) / 2)]?.run ?? first;
    if (runs.length === 1) return median;
    return {
      ...median,
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
      lost: runs.reduce((sum, run) => sum + run.lost, 0),
      errorSamples: [...new Set(runs.flatMap((run) => run.errorSamples))].slice(0, 5),
      rounds: { metric, values },
    };
  });
}
