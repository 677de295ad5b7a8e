import { describe, expect, it } from 'vitest';
import { isUuid, newTimeOrderedId } from '../../src/domain/ids.js';

describe('time-ordered ids (UUIDv7)', () => {
  it('carry the millisecond, version 7 and the RFC 9562 variant', () => {
    const now = Date.now();
    const id = newTimeOrderedId(now);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(now);
    expect(newTimeOrderedId(0).startsWith('00000000-0000-7')).toBe(true);
    expect(newTimeOrderedId(2 ** 48 - 1).startsWith('ffffffff-ffff-7')).toBe(true);
  });

  it('sort by time across milliseconds and stay unique within one', () => {
    const base = 1_764_336_734_288;
    const ordered = Array.from({ length: 50 }, (_, i) => newTimeOrderedId(base + i * 7));
    expect([...ordered].sort()).toEqual(ordered);
    const sameMs = new Set(Array.from({ length: 10_000 }, () => newTimeOrderedId(base)));
    expect(sameMs.size).toBe(10_000);
  });
});
