/**
 * The Python client suite (clients/python, pytest) against a real server on loopback: a Python
 * worker with at-most-once tools surviving a crash of its process, signals, replay-then-follow
 * streams, the tenant subscription, error mapping and the hash chain recomputed in Python.
 * The venv is prepared by `npm test`'s pretest (scripts/python-env.mjs).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { runSuite, type SuiteEnv, startSuiteEnv } from '../helpers/external-suite.js';

const REQUIRED = [
  'test_worker_crash_resume',
  'test_signal_resumes_parked_job',
  'test_stream_events_replay_then_follow',
  'test_subscribe_tenant_stream',
  'test_error_mapping',
  'test_hash_chain_recomputed',
];

/** The venv scripts/python-env.mjs keeps (same default and override). */
const venvPython = path.resolve(ROOT, process.env.AETHERIS_VENV ?? '.venv', 'bin', 'python');

let suite: SuiteEnv;
beforeAll(async () => {
  // Install what is in the tree now (a no-op when nothing changed since the last install).
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'python-env.mjs')], { stdio: 'inherit' });
  suite = await startSuiteEnv('e2e-python');
});
afterAll(async () => {
  await suite?.close();
});

describe('Python client', () => {
  it('passes its end-to-end suite against the running server', { timeout: 300_000 }, async () => {
    const report = path.join(suite.env.AETHERIS_E2E_TMP ?? '', 'junit.xml');
    const run = await runSuite(venvPython, ['-m', 'pytest', '-v', `--junitxml=${report}`], {
      cwd: path.join(ROOT, 'clients', 'python'),
      env: suite.env,
      timeoutMs: 280_000,
    });
    const output = (run.stdout + run.stderr).slice(-20_000);
    expect(run.code, output).toBe(0);
    const xml = await readFile(report, 'utf8');
    // <testcase classname=".." name="test_x" time=".."> followed by <failure>/<error>/<skipped> or not.
    const cases = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map(
      (match) => ({ name: match[1] ?? '', body: match[3] ?? '' }),
    );
    const bad = cases.filter((c) => /<(failure|error|skipped)/.test(c.body)).map((c) => c.name);
    expect(bad, output).toEqual([]);
    const passed = new Set(cases.map((c) => c.name.replace(/\[.*$/, '')));
    for (const name of REQUIRED) expect(passed, `${name} did not pass`).toContain(name);
  });
});
