/** Human-readable durations for operators (stuck-job details, the monitor). Pure. */

const UNITS: readonly [suffix: string, ms: number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/**
 * `1d 2h`, `3m 5s`, `12s`, `450ms`: the two largest non-zero units, truncated (never rounded
 * up, so "2m" always means at least two minutes). Negative values count as zero.
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms));
  if (total < 1000) return `${total}ms`;
  const parts: string[] = [];
  let rest = total;
  for (const [suffix, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${suffix}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part, index) => index === 0 || !part.startsWith('0')).join(' ');
}
