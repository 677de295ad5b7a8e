import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import type { AetherisClients } from '../../src/client/connect.js';
import { type CliResult, cliEnv, finish, ROOT, spawnCli } from '../helpers/cli.js';
import { createKey, startTestEnv, type TestEnv } from '../helpers/harness.js';
import {
  createJob,
  createJobDyingDuringToolCall,
  newWorker,
  parseJson,
  waitForState,
} from '../worker/worker-helpers.js';
import { keyIdOf } from './signal-helpers.js';

let env: TestEnv;
let operator: AetherisClients;
let operatorToken: string;

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'signals.js'))) {
    throw new Error('dist/ is missing the signal commands: run `npm run build` before this test');
  }
  env = await startTestEnv();
  operatorToken = await createKey(env.url, 'acme', 'operator');
  operator = await env.clients('operator', 'acme');
});
afterAll(() => env?.close());

function cli(args: string[]): Promise<CliResult> {
  return finish(spawnCli(args, cliEnv({ AETHERIS_ADDRESS: env.server.address, AETHERIS_API_KEY: operatorToken })));
}

async function okJson<T>(args: string[]): Promise<T> {
  const result = await cli(args);
  expect(result.code, `aetheris ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

async function okLines<T>(args: string[]): Promise<T[]> {
  const result = await cli(args);
  expect(result.code, `aetheris ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** A failed command: exit code 1 and one `aetheris: …` line on stderr, returned. */
async function oneLineError(args: string[]): Promise<string> {
  const result = await cli(args);
  expect(result.code).toBe(1);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0] ?? '';
}

interface SignalJson {
  id: string;
  jobId: string;
  name: string;
  payload: unknown;
  state: string;
  consumedBySeq?: string;
  sender: string;
}

interface SendJson {
  signal: SignalJson;
  duplicate: boolean;
  jobState: string;
}

const DONE = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED];

describe.concurrent('aetheris signal', () => {
  it('send resumes a parked job (idempotent on --id); list shows it consumed', async () => {
    const worker = await newWorker(env, { taskQueue: 'cli-approvals' });
    worker.register('cli-approval', async (ctx) => ctx.waitForSignal('approval'));
    const jobId = await createJob(operator, 'cli-approval', null, { queue: 'cli-approvals' });
    const signalId = randomUUID();
    const send = ['signal', 'send', jobId, 'approval', '--payload', '{"approved": true}', '--id', signalId];

    const job = await worker.runUntil(async () => {
      await waitForState(operator, jobId, [JobState.JOB_STATE_PARKED]);
      const sent = await okJson<SendJson>(send);
      expect(sent).toMatchObject({
        duplicate: false,
        jobState: 'JOB_STATE_PENDING',
        signal: { id: signalId, jobId, name: 'approval', payload: { approved: true }, state: 'SIGNAL_STATE_CONSUMED' },
      });
      expect(sent.signal.sender).toBe(`key:${keyIdOf(operatorToken)}`);
      return waitForState(operator, jobId, DONE);
    });
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toMatchObject({ signalId, payload: { approved: true } });

    const [again, consumed, pending, byName] = await Promise.all([
      okJson<SendJson>(send),
      okLines<SignalJson>(['signal', 'list', jobId, '--state', 'consumed']),
      okLines<SignalJson>(['signal', 'list', jobId, '--state', 'pending']),
      okLines<SignalJson>(['signal', 'list', jobId, '--name', 'other']),
    ]);
    expect(again).toMatchObject({ duplicate: true, jobState: 'JOB_STATE_COMPLETED', signal: { id: signalId } });
    expect(consumed).toHaveLength(1);
    expect(consumed[0]).toMatchObject({ id: signalId, state: 'SIGNAL_STATE_CONSUMED', payload: { approved: true } });
    expect(Number(consumed[0]?.consumedBySeq)).toBeGreaterThan(0);
    expect(pending).toEqual([]);
    expect(byName).toEqual([]);
  });

  it('send without --id generates one; list filters by state and name, oldest first', async () => {
    const jobId = await createJob(operator, 'cli-nobody', null, { queue: 'cli-nobody' });
    const first = await okJson<SendJson>(['signal', 'send', jobId, 'note']);
    const second = await okJson<SendJson>(['signal', 'send', jobId, 'approval', '--payload', '[1,2]']);
    expect(first).toMatchObject({ duplicate: false, jobState: 'JOB_STATE_PENDING', signal: { payload: null } });
    expect(first.signal.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.signal.id).not.toBe(first.signal.id);
    const [all, pending, approvals] = await Promise.all([
      okLines<SignalJson>(['signal', 'list', jobId]),
      okLines<SignalJson>(['signal', 'list', jobId, '--state', 'pending,consumed']),
      okLines<SignalJson>(['signal', 'list', jobId, '--name', 'approval']),
    ]);
    expect(all.map((signal) => signal.id)).toEqual([first.signal.id, second.signal.id]);
    expect(pending.map((signal) => signal.state)).toEqual(['SIGNAL_STATE_PENDING', 'SIGNAL_STATE_PENDING']);
    expect(approvals.map((signal) => signal.payload)).toEqual([[1, 2]]);
  });

  it('resolve --skip resumes an in-doubt job with the given result; --id makes it idempotent', async () => {
    const jobId = await createJobDyingDuringToolCall(env, operator, 'cli-in-doubt', 'send-money');
    let ran = 0;
    const worker = await newWorker(env);
    worker.register('cli-in-doubt', async (ctx) => ctx.tool('send-money', {}, async () => ++ran));
    const resolutionId = randomUUID();
    const resolve = [
      ...['signal', 'resolve', jobId, '1', '--skip', '{"sent": "by hand"}'],
      ...['--note', 'checked the bank statement', '--id', resolutionId],
    ];
    const job = await worker.runUntil(async () => {
      await waitForState(operator, jobId, [JobState.JOB_STATE_PARKED]);
      const resolved = await okJson<{
        call: { state: string; result: unknown };
        job: { state: string };
        resolution: { id: string; kind: string; actor: string; note: string };
        duplicate: boolean;
      }>(resolve);
      expect(resolved).toMatchObject({
        duplicate: false,
        call: { state: 'TOOL_CALL_STATE_RESOLVED', result: { sent: 'by hand' } },
        job: { state: 'JOB_STATE_PENDING' },
        resolution: {
          id: resolutionId,
          kind: 'RESOLUTION_KIND_SKIP',
          actor: `key:${keyIdOf(operatorToken)}`,
          note: 'checked the bank statement',
        },
      });
      return waitForState(operator, jobId, DONE);
    });
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toEqual({ sent: 'by hand' });
    expect(ran).toBe(0);
    expect(await okJson<{ duplicate: boolean }>(resolve)).toMatchObject({ duplicate: true });
    expect(await oneLineError(['signal', 'resolve', jobId, '1', '--retry'])).toMatch(
      /^aetheris: FAILED_PRECONDITION JOB_TERMINAL: /,
    );
  });

  it('errors: one stderr line, bad flags refused before any call', async () => {
    const jobId = randomUUID();
    // An unreachable address proves that bad flags fail before any call.
    const offline = ['--address', '127.0.0.1:1'];
    const results = await Promise.all([
      oneLineError(['signal', 'send', jobId, 'approval', '--payload', '{"approved": ', ...offline]),
      oneLineError(['signal', 'send', jobId, 'approval', '--id', 'not-a-uuid', ...offline]),
      oneLineError(['signal', 'list', jobId, '--state', 'lost', ...offline]),
      oneLineError(['signal', 'resolve', jobId, '1', ...offline]),
      oneLineError(['signal', 'resolve', jobId, '1', '--retry', '--skip', 'null', ...offline]),
      oneLineError(['signal', 'resolve', jobId, '1', '--retry', '--fail-job', ...offline]),
      oneLineError(['signal', 'send', jobId, 'approval']),
      oneLineError(['signal', 'send', 'not-a-job', 'approval']),
    ]);
    expect(results[0]).toMatch(/^aetheris: --payload: invalid JSON/);
    expect(results[1]).toMatch(/^aetheris: --id: expected a UUID/);
    expect(results[2]).toMatch(/^aetheris: --state: expected pending or consumed/);
    expect(results[3]).toMatch(/^aetheris: signal resolve: one of --retry, --skip <json> or --fail <message>/);
    expect(results[4]).toMatch(/^aetheris: signal resolve: --retry, --skip exclude each other/);
    expect(results[5]).toMatch(/^aetheris: --fail-job: only with --fail/);
    expect(results[6]).toMatch(/^aetheris: NOT_FOUND/);
    expect(results[7]).toMatch(/^aetheris: INVALID_ARGUMENT INVALID_FIELD: job_id/);
  });
});
