import { describe, expect, it } from 'vitest';
import type { Thresholds } from '../perf/gate/config.js';
import { medianRounds } from '../perf/gate/rounds.js';
import { evaluate, type ScenarioResult } from '../perf/gate/verdict.js';

const thresholds: Thresholds = {
  global: { errorsMax: 0, lostMax: 0 },
  scenarios: {
    append_1: { ratioToReferenceMin: { target: 0.5, gate: 0.2 } },
    job_e2e: { jobsPerSecondMin: { target: 500, gate: 400 } },
    signal_resume: { p99MsMax: { target: 50 } },
  },
};

function result(name: string, fields: Partial<ScenarioResult> & { p99?: number }): ScenarioResult {
  const { p99 = 10, ...rest } = fields;
  return {
    name,
    durationSeconds: 20,
    ops: 1000,
    opsPerSecond: 50,
    events: 0,
    eventsPerSecond: 0,
    latencyMs: { count: 1000, p50: 1, p95: 5, p99, max: 20 },
    errors: 0,
    errorSamples: [],
    lost: 0,
    ...rest,
  };
}

describe('medianRounds', () => {
  it('keeps the round whose checked metric is the median, whole, with every round’s value in run order', () => {
    const rounds = [0.31, 0.36, 0.33].map((ratio, round) => [
      result('append_1', { ratioToReference: ratio, opsPerSecond: 10_000 + round, notes: `round ${round}` }),
    ]);
    const [append] = medianRounds(rounds, thresholds);
    expect(append?.ratioToReference).toBe(0.33);
    expect(append?.opsPerSecond).toBe(10_002);
    expect(append?.notes).toBe('round 2');
    expect(append?.rounds).toEqual({ metric: 'ratioToReferenceMin', values: [0.31, 0.36, 0.33] });
  });

  it('orders a latency ceiling the other way: the median p99, the worse middle one when even', () => {
    const odd = [30, 12, 18].map((p99) => [result('signal_resume', { p99 })]);
    expect(medianRounds(odd, thresholds)[0]?.latencyMs.p99).toBe(18);
    const even = [12, 30, 18, 40].map((p99) => [result('signal_resume', { p99 })]);
    expect(medianRounds(even, thresholds)[0]?.latencyMs.p99).toBe(30);
    const evenRates = [450, 610, 520, 380].map((opsPerSecond) => [result('job_e2e', { opsPerSecond })]);
    expect(medianRounds(evenRates, thresholds)[0]?.opsPerSecond).toBe(450);
  });

  it('sums errors and lost work over every round, so a failure in a round that is not the median fails the gate', () => {
    const rounds = [
      [result('job_e2e', { opsPerSecond: 520 })],
      [result('job_e2e', { opsPerSecond: 300, errors: 2, lost: 1, errorSamples: ['UNAVAILABLE: x'] })],
      [result('job_e2e', { opsPerSecond: 560 })],
    ];
    const [job] = medianRounds(rounds, thresholds);
    expect(job?.opsPerSecond).toBe(520);
    expect(job).toMatchObject({ errors: 2, lost: 1, errorSamples: ['UNAVAILABLE: x'] });
    const checks = evaluate(job ? [job] : [], thresholds, 'full');
    expect(checks.find((check) => check.metric === 'errors')?.pass).toBe(false);
    expect(checks.find((check) => check.metric === 'lost')?.pass).toBe(false);
    const rate = checks.find((check) => check.metric === 'jobsPerSecondMin');
    expect(rate).toMatchObject({ pass: true, targetMet: true, targetMetInRounds: [2, 3] });
  });

  it('ranks scenarios without a threshold and references by their rate, and keeps names in first-seen order', () => {
    const rounds = [
      [result('pgbench_insert_1', { events: 1, eventsPerSecond: 31_000 }), result('replay', { opsPerSecond: 9 })],
      [result('pgbench_insert_1', { events: 1, eventsPerSecond: 36_000 }), result('replay', { opsPerSecond: 7 })],
      [result('pgbench_insert_1', { events: 1, eventsPerSecond: 29_000 }), result('replay', { opsPerSecond: 8 })],
    ];
    const merged = medianRounds(rounds, thresholds);
    expect(merged.map((m) => m.name)).toEqual(['pgbench_insert_1', 'replay']);
    expect(merged[0]).toMatchObject({ eventsPerSecond: 31_000, rounds: { metric: 'eventsPerSecond' } });
    expect(merged[1]).toMatchObject({ opsPerSecond: 8, rounds: { metric: 'opsPerSecond' } });
  });

  it('leaves a single round as it was', () => {
    const only = result('append_1', { ratioToReference: 0.4 });
    expect(medianRounds([[only]], thresholds)).toEqual([only]);
  });
});
