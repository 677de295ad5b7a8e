/**
 * The gate's external programs, installed from the registries this project may use: ghz from the
 * Go module proxy (pinned), the Go load driver built from perf/driver, pgbench from PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/store/project-root.js';
import { progress } from '../lib/lifecycle.js';

const GHZ_VERSION = 'v0.93.0';

const gobin = (): string => path.join(projectRoot(), '.tmp', 'gobin');

function output(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
}

/** ghz at the pinned version in .tmp/gobin (installed with `go install` on first use). */
export function ensureGhz(): string {
  const bin = path.join(gobin(), 'ghz');
  if (output(bin, ['--version']) !== GHZ_VERSION) {
    progress(`installing ghz ${GHZ_VERSION} (go install)`);
    execFileSync('go', ['install', `github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}`], {
      stdio: 'inherit',
      env: { ...process.env, GOBIN: gobin() },
    });
  }
  return bin;
}

/** Builds the Go load driver (perf/driver) into .tmp/gobin. */
export function buildDriver(): string {
  const bin = path.join(gobin(), 'aetheris-driver');
  progress('building the Go load driver (perf/driver)');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: path.join(projectRoot(), 'perf', 'driver'), stdio: 'inherit' });
  return bin;
}

/**
 * pgbench: $PGBENCH, then PATH, then Debian's /usr/lib/postgresql/<v>/bin (newest first). Debian
 * ships it in `postgresql-<v>` (bookworm) or `postgresql-client-<v>` (newer releases).
 */
export function findPgbench(): string {
  const candidates = [process.env.PGBENCH, output('sh', ['-c', 'command -v pgbench'])];
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(path.join(debian, version, 'bin', 'pgbench'));
  }
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  throw new Error('pgbench not found: install Debian postgresql-15 (or postgresql-client-16+) or set PGBENCH');
}
