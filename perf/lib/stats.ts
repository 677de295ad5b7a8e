/** Latency statistics of the benchmarks: nearest-rank percentiles over samples in milliseconds. */

/** Latency summary in milliseconds. */
export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

export const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/** `a / b` to two decimals. */
export const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((acc, value) => acc + value, 0);
  return {
    n: sorted.length,
    p50: round3(percentile(sorted, 0.5)),
    p90: round3(percentile(sorted, 0.9)),
    p99: round3(percentile(sorted, 0.99)),
    mean: round3(sorted.length ? sum / sorted.length : Number.NaN),
    min: round3(sorted[0] ?? Number.NaN),
    max: round3(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

export const median = (samples: readonly number[]): number => summarize(samples).p50;
