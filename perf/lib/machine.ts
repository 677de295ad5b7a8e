/** What a report says about where it ran: the machine, PostgreSQL, and the code measured. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { projectRoot } from '../../src/store/project-root.js';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemoryGiB: number;
  node: string;
  platform: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  /** Busy share of all cores over 1 s before the run started: load from other processes. */
  backgroundBusyShare: number;
}

export function machineInfo(
  postgres: string,
  postgresSettings: Record<string, string>,
  backgroundBusyShare: number,
): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    postgres,
    postgresSettings,
    backgroundBusyShare,
  };
}

/** The commit measured, and the paths of the server's code that differed from it. */
export interface Revision {
  commit: string;
  uncommitted: string[];
}

/** Best effort: `unknown` outside a git checkout. */
export function revision(): Revision {
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', projectRoot(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const uncommitted = git('status', '--porcelain', '--', 'src', 'gen', 'migrations', 'proto')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}
