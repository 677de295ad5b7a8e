import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/domain/durations.js';

describe('formatDuration', () => {
  it('shows the two largest units, truncated, and skips a zero second unit', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(999.9)).toBe('999ms');
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(65_999)).toBe('1m 5s');
    expect(formatDuration(3_600_000 + 59_000)).toBe('1h');
    expect(formatDuration(3_600_000 + 60_000)).toBe('1h 1m');
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 7_000)).toBe('2d 3h');
    expect(formatDuration(7 * 86_400_000)).toBe('7d');
  });

  it('counts negative spans as zero', () => {
    expect(formatDuration(-5)).toBe('0ms');
  });
});
