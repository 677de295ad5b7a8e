/** Child processes for crash tests: the built server and the built crash worker. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '..', '..');
const live = new Set<ChildProcess>();

/** A child process with its output so far. */
export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not become ready: ${out.slice(-2000)}`)), timeoutMs);
    const check = (): void => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ process: child, output: () => out, exited });
      }
    };
    child.stdout?.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code ?? signal}) before ready: ${out.slice(-2000)}`));
    });
  });
}

/** A free loopback port (so a restarted server can come back on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** `aetheris serve` on a database, as its own process. */
export async function spawnServer(databaseUrl: string, port: number): Promise<Child> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'aetheris-crash-'));
  return start(
    ['bin/aetheris.js', 'serve', '--database-url', databaseUrl, '--port', String(port), '--data-dir', dataDir],
    { AETHERIS_LOG_LEVEL: 'warn' },
    /aetheris listening on/,
  );
}

/** The crash-injection worker (test/fixtures/crash-worker.ts, built to dist/). */
export function spawnCrashWorker(env: Record<string, string>): Promise<Child> {
  return start(['dist/test/fixtures/crash-worker.js'], env, /worker ready/);
}

/** SIGKILLs every child still running (afterAll). */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}
