/**
 * The Go client suite (clients/go, `go test`) against a real server on loopback: a Go worker
 * with at-most-once tools surviving a crash of its process, signals, replay-then-follow streams,
 * the tenant subscription, error mapping and the hash chain recomputed in Go.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { runSuite, type SuiteEnv, startSuiteEnv } from '../helpers/external-suite.js';

/** Every scenario issue 6 asks of a client; each must run and pass (a skip is a failure). */
const REQUIRED = [
  'TestWorkerCrashResume',
  'TestSignalResumesParkedJob',
  'TestStreamEventsReplayThenFollow',
  'TestSubscribeTenantStream',
  'TestErrorMapping',
  'TestHashChainRecomputed',
];

interface GoTestEvent {
  Action: string;
  Package?: string;
  Test?: string;
  Output?: string;
}

let suite: SuiteEnv;
beforeAll(async () => {
  suite = await startSuiteEnv('e2e-go');
});
afterAll(async () => {
  await suite?.close();
});

describe('Go client', () => {
  it('passes its end-to-end suite against the running server', { timeout: 480_000 }, async () => {
    const run = await runSuite('go', ['test', '-count=1', '-json', './...'], {
      cwd: path.join(ROOT, 'clients', 'go'),
      env: suite.env,
      timeoutMs: 450_000,
    });
    const events = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as GoTestEvent);
    const output = events.map((event) => event.Output ?? '').join('') + run.stderr;
    const outcome = (action: string) =>
      new Set(events.filter((e) => e.Action === action && e.Test && !e.Test.includes('/')).map((e) => e.Test));
    const failed = outcome('fail');
    const skipped = outcome('skip');
    const passed = outcome('pass');
    expect({ code: run.code, failed: [...failed], skipped: [...skipped] }, output.slice(-20_000)).toEqual({
      code: 0,
      failed: [],
      skipped: [],
    });
    for (const name of REQUIRED) expect(passed, `${name} did not pass`).toContain(name);
  });
});
