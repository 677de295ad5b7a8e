/**
 * Runs a client suite written in another language (go test, pytest) against a real server on
 * loopback. The suite gets the server and its keys through environment variables:
 *
 *   AETHERIS_ADDRESS           host:port of the server (plaintext, loopback)
 *   AETHERIS_TENANT            the tenant of the keys below (needed to recompute event hashes)
 *   AETHERIS_API_KEY           admin key in that tenant
 *   AETHERIS_WORKER_KEY        worker key in that tenant
 *   AETHERIS_READER_KEY        reader key in that tenant (writes are PERMISSION_DENIED)
 *   AETHERIS_OTHER_TENANT_KEY  admin key in another tenant (its jobs are NOT_FOUND here)
 *   AETHERIS_E2E_TMP           a scratch directory the suite may write to (side-effect logs)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src/server/server.js';
import { createKey, createTestDatabase, startTestServer } from './harness.js';

export interface SuiteEnv {
  env: Record<string, string>;
  server: RunningServer;
  databaseUrl: string;
  close(): Promise<void>;
}

export async function startSuiteEnv(tenant: string): Promise<SuiteEnv> {
  const database = await createTestDatabase();
  // Expired leases of crashed workers go back to the queue quickly.
  const server = await startTestServer(database.url, { sweepIntervalMs: 200 });
  const tmp = await mkdtemp(path.join(os.tmpdir(), `aetheris-${tenant}-`));
  const env = {
    AETHERIS_ADDRESS: server.address,
    AETHERIS_TENANT: tenant,
    AETHERIS_API_KEY: await createKey(database.url, tenant, 'admin'),
    AETHERIS_WORKER_KEY: await createKey(database.url, tenant, 'worker'),
    AETHERIS_READER_KEY: await createKey(database.url, tenant, 'reader'),
    AETHERIS_OTHER_TENANT_KEY: await createKey(database.url, `${tenant}-other`, 'admin'),
    AETHERIS_E2E_TMP: tmp,
  };
  return {
    env,
    server,
    databaseUrl: database.url,
    async close() {
      await server.shutdown();
      await database.drop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

export interface SuiteRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output (killed after `timeoutMs`). */
export function runSuite(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<SuiteRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
