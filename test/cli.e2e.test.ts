/**
 * The built CLI (`node bin/aetheris.js`) as a user runs it, against a real in-process server on a
 * fresh database. Needs `npm run build` first (`npm test` does it).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliEnv, finish, ROOT, spawnCli } from './helpers/cli.js';
import { createKey, startTestEnv, type TestEnv } from './helpers/harness.js';

interface RunOptions {
  /** Bearer token; `null` runs without AETHERIS_API_KEY. Default: the admin token. */
  apiKey?: string | null;
  env?: Record<string, string>;
}

let env: TestEnv;
let adminToken: string;
/** An empty data directory, so no `.aetheris/admin-key` of the working tree is ever picked up. */
let emptyDataDir: string;

function childEnv(options: RunOptions): NodeJS.ProcessEnv {
  const apiKey = options.apiKey === undefined ? adminToken : options.apiKey;
  return cliEnv({
    AETHERIS_ADDRESS: env.server.address,
    AETHERIS_DATA_DIR: emptyDataDir,
    AETHERIS_API_KEY: apiKey ?? undefined,
    ...options.env,
  });
}

function cliChild(args: string[], options: RunOptions = {}): ChildProcessWithoutNullStreams {
  return spawnCli(args, childEnv(options));
}

function cli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return finish(cliChild(args, options));
}

/** Runs a command that must succeed and returns its stdout (stderr may hold hints such as a page token). */
async function ok(args: string[], options: RunOptions = {}): Promise<string> {
  const result = await cli(args, options);
  expect(result.code, `aetheris ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

async function okJson<T>(args: string[], options: RunOptions = {}): Promise<T> {
  return JSON.parse(await ok(args, options)) as T;
}

/** `'jobs list --limit 1'` → argv words (for arguments without spaces). */
function words(text: string): string[] {
  return text.split(' ');
}

function jsonLines<T>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** A failed command: exit code 1 and exactly one line on stderr, returned. */
function expectOneLineError(result: CliResult): string {
  expect(result.code).toBe(1);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^aetheris: /);
  return lines[0] ?? '';
}

interface JobJson {
  id: string;
  jobType: string;
  state: string;
  input?: unknown;
  labels?: Record<string, string>;
  priority?: number;
}

interface EventJson {
  jobId: string;
  seq: string;
  type: string;
  payload: unknown;
  actor: string;
  hash: string;
  prevHash: string;
  position: { transactionId: string; position: string };
}

interface KeyJson {
  keyId: string;
  tenant: string;
  name: string;
  role: string;
  revokedAt?: string;
}

async function createJob(type: string, ...flags: string[]): Promise<JobJson> {
  return (await okJson<{ job: JobJson }>(['jobs', 'create', type, ...flags])).job;
}

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before this test');
  }
  env = await startTestEnv();
  adminToken = await createKey(env.url, 'acme', 'admin');
  emptyDataDir = await mkdtemp(path.join(os.tmpdir(), 'aetheris-cli-'));
});

afterAll(async () => {
  await env?.close();
  if (emptyDataDir) await rm(emptyDataDir, { recursive: true, force: true });
});

describe.concurrent('aetheris CLI', () => {
  it('keys create makes a working key; keys revoke makes it fail with UNAUTHENTICATED', async () => {
    const created = await okJson<{ token: string; key: KeyJson }>([
      'keys',
      'create',
      '--name',
      'ci',
      '--role',
      'operator',
    ]);
    expect(created.token).toMatch(/^aek_/);
    expect(created.key).toMatchObject({ tenant: 'acme', name: 'ci', role: 'ROLE_OPERATOR' });
    await ok(['jobs', 'list', '--limit', '1'], { apiKey: created.token });

    const revoked = await okJson<{ key: KeyJson }>(['keys', 'revoke', created.key.keyId]);
    expect(revoked.key.revokedAt).toBeDefined();
    const [denied, active, all] = await Promise.all([
      cli(['jobs', 'list'], { apiKey: created.token }),
      ok(['keys', 'list']),
      ok(['keys', 'list', '--all']),
    ]);
    expect(expectOneLineError(denied)).toContain('UNAUTHENTICATED');
    expect(jsonLines<KeyJson>(active).map((key) => key.keyId)).not.toContain(created.key.keyId);
    expect(jsonLines<KeyJson>(all).find((key) => key.keyId === created.key.keyId)?.revokedAt).toBeDefined();
  });

  it('jobs create, get, list and cancel round-trip as JSON', async () => {
    const flags = words('--queue cli --priority 7 --label team=billing --label tier=gold --idempotency-key rt-1');
    const created = await okJson<{ job: JobJson; created: boolean }>([
      ...words('jobs create cli-roundtrip --max-attempts 2'),
      ...flags,
      ...['--input', '{"amount": 5}'],
    ]);
    expect(created.created).toBe(true);
    const job = created.job;
    expect(job).toMatchObject({
      jobType: 'cli-roundtrip',
      state: 'JOB_STATE_PENDING',
      input: { amount: 5 },
      priority: 7,
      labels: { team: 'billing', tier: 'gold' },
    });

    const [again, got, listed] = await Promise.all([
      // The same request again (the input differs only in spacing): the idempotency key finds the job.
      okJson<{ job: JobJson; created: boolean }>([
        ...words('jobs create cli-roundtrip --max-attempts 2'),
        ...flags,
        ...['--input', '{"amount":5}'],
      ]),
      okJson<{ job: JobJson }>(['jobs', 'get', job.id]),
      ok(['jobs', 'list', '--state', 'pending', '--queue', 'cli', '--type', 'cli-roundtrip']),
    ]);
    expect(again).toMatchObject({ created: false, job: { id: job.id } });
    expect(got.job).toEqual(job);
    expect(jsonLines<JobJson>(listed).map((listedJob) => listedJob.id)).toEqual([job.id]);

    const cancelled = await okJson<{ job: JobJson }>(['jobs', 'cancel', job.id, '--reason', 'testing']);
    expect(cancelled.job).toMatchObject({ id: job.id, state: 'JOB_STATE_CANCELLED' });
    const [pending, cancelledList] = await Promise.all([
      ok(['jobs', 'list', '--state', 'pending', '--queue', 'cli']),
      ok(['jobs', 'list', '--state', 'cancelled,failed', '--queue', 'cli']),
    ]);
    expect(pending).toBe('');
    expect(jsonLines<JobJson>(cancelledList).map((listedJob) => listedJob.state)).toEqual(['JOB_STATE_CANCELLED']);
  });

  it('jobs list pages with --limit and the --page-token hinted on stderr', async () => {
    const older = await createJob('cli-page', '--queue', 'cli-page');
    const newer = await createJob('cli-page', '--queue', 'cli-page');
    const first = await cli(['jobs', 'list', '--queue', 'cli-page', '--limit', '1']);
    expect(first.code).toBe(0);
    expect(jsonLines<JobJson>(first.stdout).map((job) => job.id)).toEqual([newer.id]);
    const token = /^aetheris: more jobs: --page-token (\S+)$/m.exec(first.stderr)?.[1];
    expect(token, first.stderr).toBeDefined();
    const second = await cli(['jobs', 'list', '--queue', 'cli-page', '--limit', '1', '--page-token', token ?? '']);
    expect(second.code).toBe(0);
    expect(jsonLines<JobJson>(second.stdout).map((job) => job.id)).toEqual([older.id]);
  });

  it('events append, read and tail --no-follow print payloads as JSON', async () => {
    const job = await createJob('cli-events');
    const appended = await okJson<{ firstSeq: string; lastSeq: string; lastHash: string; duplicate: boolean }>([
      ...['events', 'append', job.id, 'refund.approved', '--expected-seq', '1'],
      ...['--payload', '{"amount": 5}'],
    ]);
    expect(appended).toMatchObject({ firstSeq: '2', lastSeq: '2', duplicate: false });
    expect(appended.lastHash).toMatch(/^[0-9a-f]{64}$/);

    const [read, tail, stale] = await Promise.all([
      ok(['events', 'read', job.id]),
      ok(['events', 'tail', job.id, '--no-follow']),
      cli(['events', 'append', job.id, 'refund.approved', '--expected-seq', '1']),
    ]);
    const events = jsonLines<EventJson>(read);
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      ['1', 'aetheris.job.created'],
      ['2', 'refund.approved'],
    ]);
    expect(events[1]?.payload).toEqual({ amount: 5 });
    expect(events[1]?.hash).toBe(appended.lastHash);
    expect(events[1]?.prevHash).toBe(events[0]?.hash);
    expect(jsonLines<EventJson>(tail)).toEqual(events);
    expect(expectOneLineError(stale)).toMatch(/^aetheris: ABORTED WRONG_EXPECTED_SEQ: /);
  });

  it('events tail follows a job until another invocation cancels it, then exits 0', async () => {
    const job = await createJob('cli-tail');
    const tail = cliChild(['events', 'tail', job.id]);
    const done = finish(tail);
    // Cancel only once the tail has replayed the history, i.e. it is attached and following.
    await new Promise<void>((resolve, reject) => {
      tail.stdout.on('data', () => resolve());
      tail.on('close', () => reject(new Error('tail ended before printing')));
    });
    await ok(['jobs', 'cancel', job.id, '--reason', 'tail test']);
    const result = await done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(jsonLines<EventJson>(result.stdout).map((event) => event.type)).toEqual([
      'aetheris.job.created',
      'aetheris.job.cancelled',
    ]);
  });

  it('events subscribe follows the chosen types with checkpoints until Ctrl-C', async () => {
    const job = await createJob('cli-subscribe');
    await ok(['events', 'append', job.id, 'cli.subscribe.probe', '--payload', '[1, "two"]']);
    // Follow mode: an event committed behind a still-open older transaction is delivered once
    // that transaction ends, whereas --no-follow would stop at the horizon without it.
    const subscribe = cliChild(['events', 'subscribe', '--type', 'cli.subscribe.*', '--checkpoints']);
    const done = finish(subscribe);
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      subscribe.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        // The checkpoint sent with the event's message follows its line.
        if (/cli\.subscribe\.probe[^\n]*\n\{"checkpoint"/.test(seen)) resolve();
      });
      subscribe.on('close', () => reject(new Error('subscribe ended before printing the event')));
    });
    subscribe.kill('SIGINT');
    const result = await done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(130);
    const lines = jsonLines<Partial<EventJson> & { checkpoint?: string }>(result.stdout);
    const events = lines.filter((line) => line.checkpoint === undefined);
    expect(events.map((event) => [event.jobId, event.type, event.payload])).toEqual([
      [job.id, 'cli.subscribe.probe', [1, 'two']],
    ]);
    const checkpoint = lines.at(-1)?.checkpoint;
    expect(checkpoint).toMatch(/^\d+:\d+$/);
    // Resuming after the last checkpoint has nothing more to deliver.
    const resumed = await ok([
      ...words('events subscribe --no-follow --type cli.subscribe.* --after'),
      checkpoint ?? '',
    ]);
    expect(resumed).toBe('');
  });

  it('errors: one stderr line with the status, reason and field', async () => {
    const [badId, missingKey, badPriority, badInput, unknownJob] = await Promise.all([
      cli(['jobs', 'get', 'not-a-uuid']),
      cli(['jobs', 'list'], { apiKey: null }),
      // An unreachable address proves that bad flags fail before any call.
      cli(['jobs', 'create', 'x', '--priority', 'abc', '--address', '127.0.0.1:1']),
      cli(['jobs', 'create', 'x', '--input', '{"amount": ', '--address', '127.0.0.1:1']),
      cli(['jobs', 'get', '00000000-0000-4000-8000-000000000000']),
    ]);
    const badIdLine = expectOneLineError(badId);
    expect(badIdLine).toContain('INVALID_ARGUMENT');
    expect(badIdLine).toContain('job_id');
    expect(expectOneLineError(missingKey)).toMatch(/no API key.*--api-key.*AETHERIS_API_KEY/);
    expect(expectOneLineError(badPriority)).toMatch(/^aetheris: --priority: /);
    expect(expectOneLineError(badInput)).toMatch(/^aetheris: --input: invalid JSON/);
    expect(expectOneLineError(unknownJob)).toMatch(/^aetheris: NOT_FOUND: /);
  });

  it('falls back to <data dir>/admin-key when no key is given', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'aetheris-cli-key-'));
    try {
      await writeFile(path.join(dataDir, 'admin-key'), `${adminToken}\n`, { mode: 0o600 });
      await ok(['jobs', 'list', '--limit', '1', '--data-dir', dataDir], { apiKey: null });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('tenants create makes a tenant and an admin key that works over gRPC', async () => {
    const created = await okJson<{ tenant: string; created: boolean; token: string; key: KeyJson }>([
      ...words('tenants create globex --database-url'),
      env.url,
    ]);
    expect(created).toMatchObject({ tenant: 'globex', created: true, key: { tenant: 'globex', role: 'ROLE_ADMIN' } });
    const keys = jsonLines<KeyJson>(await ok(['keys', 'list'], { apiKey: created.token }));
    expect(keys.map((key) => key.keyId)).toEqual([created.key.keyId]);
  });
});
