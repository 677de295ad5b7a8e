/** CPU accounting of a phase, and the background load of the machine before a run. */
import fs from 'node:fs/promises';
import os from 'node:os';
import { progress } from './lifecycle.js';

/** CPU spent during a phase: by this Node process (client + server) and by the whole machine. */
export interface CpuUse {
  /** µs of user+system CPU of this process per operation. */
  nodeUsPerOp: number;
  /** µs of busy CPU of the whole machine (all cores, incl. PostgreSQL) per operation. */
  machineUsPerOp: number;
  /** Busy share of all cores during the phase, 0..1. */
  machineBusyShare: number;
}

export interface CpuMark {
  process: NodeJS.CpuUsage;
  busyMs: number;
  totalMs: number;
}

export function cpuMark(): CpuMark {
  let busyMs = 0;
  let totalMs = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busyMs += user + nice + sys + irq;
    totalMs += user + nice + sys + idle + irq;
  }
  return { process: process.cpuUsage(), busyMs, totalMs };
}

export function cpuSince(mark: CpuMark, ops: number): CpuUse {
  const now = cpuMark();
  const node = process.cpuUsage(mark.process);
  const busyMs = now.busyMs - mark.busyMs;
  const totalMs = now.totalMs - mark.totalMs;
  const perOp = (us: number): number => Math.round((ops ? us / ops : Number.NaN) * 10) / 10;
  return {
    nodeUsPerOp: perOp(node.user + node.system),
    machineUsPerOp: perOp(busyMs * 1000),
    machineBusyShare: Math.round((totalMs ? busyMs / totalMs : Number.NaN) * 1000) / 1000,
  };
}

/**
 * Busy share of all cores over 1 s, measured before the run starts: other processes on a shared
 * machine are the main source of noise. Warns past 10%.
 */
export async function measureBackgroundBusyShare(): Promise<number> {
  const idleMark = cpuMark();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const share = cpuSince(idleMark, 1).machineBusyShare;
  if (share > 0.1) {
    progress(`warning: the machine is ${Math.round(share * 100)}% busy before the run; figures will be noisy`);
  }
  return share;
}

/** /proc/<pid>/stat fields after the command name: [0] state, [1] ppid, … [11] utime, [12] stime, [13] cutime, [14] cstime. */
async function procStat(pid: number | string): Promise<string[] | undefined> {
  try {
    const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return text
      .slice(text.lastIndexOf(')') + 2)
      .trim()
      .split(' ');
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc times (USER_HZ: 100 on Linux whatever the kernel's HZ). */
const USER_HZ = 100;

/** The parent of a process (Linux); undefined elsewhere or when it is gone. */
export async function parentPid(pid: number): Promise<number | undefined> {
  const fields = await procStat(pid);
  return fields ? Number(fields[1]) : undefined;
}

/**
 * CPU time (ms, 10 ms resolution) of a process, its live children and the children it has
 * reaped, from /proc (Linux); NaN elsewhere. For PostgreSQL: pass the postmaster's pid, and
 * every backend and auxiliary process is counted, including backends that have exited.
 */
export async function processTreeCpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const own = await procStat(pid);
  if (!own) return Number.NaN;
  const ticks = (fields: string[], from: number, to: number): number => {
    let sum = 0;
    for (let k = from; k <= to; k++) sum += Number(fields[k] ?? 0);
    return sum;
  };
  let total = ticks(own, 11, 14);
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await procStat(entry);
    if (fields && Number(fields[1]) === pid) total += ticks(fields, 11, 12);
  }
  return (total * 1000) / USER_HZ;
}
