/** Report output: number formatting, Markdown tables, the common sections, the report files. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../src/store/project-root.js';
import type { MachineInfo, Revision } from './machine.js';

/** Milliseconds for a table: three decimals below 10, one above, `n/a` for NaN. */
export const f = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : ms < 10 ? ms.toFixed(3) : ms.toFixed(1));

/** A Markdown table, first column left-aligned and the others right-aligned, padded to width. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, c) => Math.max(header.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, c) => (c === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`,
    ...rows.map(line),
  ];
}

/** "Code: commit … (server code unmodified)." */
export function revisionLine(revision: Revision): string {
  return (
    `Code: commit \`${revision.commit.slice(0, 12)}\`` +
    (revision.uncommitted.length
      ? ` plus uncommitted changes to ${revision.uncommitted.map((file) => `\`${file}\``).join(', ')}.`
      : ' (server code unmodified).')
  );
}

/** The `## Machine` section (heading included, no trailing blank line). */
export function machineSection(machine: MachineInfo): string[] {
  return [
    '## Machine',
    '',
    `- CPU: ${machine.cpuModel} × ${machine.cpuCount}`,
    `- Memory: ${machine.totalMemoryGiB} GiB`,
    `- Node ${machine.node}, ${machine.platform}`,
    `- ${machine.postgres}`,
    `- Background load before the run: ${Math.round(machine.backgroundBusyShare * 100)}% of all cores busy` +
      (machine.backgroundBusyShare > 0.1 ? ' (**noisy run**: other processes were using the cores)' : ''),
    `- PostgreSQL settings: ${Object.entries(machine.postgresSettings)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')}`,
  ];
}

/**
 * Writes `perf/reports/<YYYY-MM-DD>-<name>.{json,md}` (the date of `date`, an ISO string). A
 * quick run writes `<YYYY-MM-DD>-<name>-quick.{json,md}`, so a smoke run never overwrites the
 * report of a default run. Returns the paths written.
 */
export async function writeReportFiles(
  name: string,
  date: string,
  mode: 'quick' | 'default',
  json: unknown,
  markdown: string,
): Promise<string[]> {
  const dir = path.join(projectRoot(), 'perf', 'reports');
  await fs.mkdir(dir, { recursive: true });
  const base = path.join(dir, `${date.slice(0, 10)}-${name}${mode === 'quick' ? '-quick' : ''}`);
  await fs.writeFile(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  await fs.writeFile(`${base}.md`, markdown);
  return [`${base}.json`, `${base}.md`];
}
