import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateJobRequest } from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { connect, unary } from '../src/client/connect.js';
import { healthCheck } from './helpers/standard-clients.js';

const repo = path.resolve(import.meta.dirname, '..');
const children: ChildProcess[] = [];
let root = '';

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (root) await rm(root, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  address: string;
  stdout: () => string;
}

/** Runs the built CLI like a user would: `aetheris serve` with no DATABASE_URL. */
function serve(dataDir: string): Promise<Started> {
  const env = { ...process.env, AETHERIS_LOG_LEVEL: 'warn', DATABASE_URL: '' };
  const child = spawn(
    process.execPath,
    [path.join(repo, 'bin/aetheris.js'), 'serve', '--data-dir', dataDir, '--port', '0'],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    child.stdout?.on('data', () => {
      const match = /aetheris listening on (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, address: match[1], stdout: () => out });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err.trim()}`));
    });
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repo, 'bin/aetheris.js'), ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('aetheris serve on the embedded default', () => {
  it('starts PostgreSQL, prints the admin key once, survives a restart, and stops cleanly', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'aetheris-serve-'));
    const dataDir = path.join(root, '.aetheris');
    const first = await serve(dataDir);
    const token = /^(aek_\S+)$/m.exec(first.stdout())?.[1] ?? '';
    expect(token).not.toBe('');
    expect((await readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim()).toBe(token);
    expect((await stat(path.join(dataDir, 'admin-key'))).mode & 0o777).toBe(0o600);
    expect(await healthCheck(first.address)).toBe('SERVING');

    const clients = connect({ address: first.address, apiKey: token });
    const { job } = await unary(
      clients.runtime,
      clients.runtime.createJob,
      CreateJobRequest.fromPartial({ jobType: 'tour' }),
      clients.metadata(),
    );
    clients.close();

    // A second server on the same data directory refuses instead of stopping the first one's PostgreSQL.
    await expect(serve(dataDir)).rejects.toThrow(/another aetheris serve/);
    // Tools reuse the running cluster.
    const status = await run(['migrate', 'status', '--data-dir', dataDir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/0001_event_store\tapplied/);
    expect(await healthCheck(first.address)).toBe('SERVING');

    expect(await stop(first.child)).toBe(0);

    const second = await serve(dataDir);
    expect(second.stdout()).not.toMatch(/aek_/);
    const again = connect({ address: second.address, apiKey: token });
    const { job: found } = await unary(again.runtime, again.runtime.getJob, { jobId: job?.id ?? '' }, again.metadata());
    again.close();
    expect(found?.jobType).toBe('tour');
    expect(await stop(second.child)).toBe(0);
  }, 120_000);
});
