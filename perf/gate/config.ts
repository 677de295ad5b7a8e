/** The gate's inputs: scenarios.json (what to run) and thresholds.json (what must hold). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/store/project-root.js';

export type Mode = 'smoke' | 'full';

export interface ModeSettings {
  warmupSeconds: number;
  durationSeconds: number;
  replayEvents: number;
  /** Rounds of every scenario; the report keeps each one's median round (default 1). */
  rounds?: number;
}

export interface ScenarioDefinition {
  description: string;
  runner: 'ghz' | 'driver';
  reference?: string;
  concurrency?: number;
  eventsPerCall?: number;
  jobs?: number;
  pageSize?: number;
  during?: string;
}

export interface ReferenceDefinition {
  description: string;
  concurrency: number;
  rowsPerTransaction?: number;
}

export interface Scenarios {
  modes: Record<Mode, ModeSettings>;
  scenarios: Record<string, ScenarioDefinition>;
  references: Record<string, ReferenceDefinition>;
}

/** A metric's goal and, while the goal is not reached, the line enforced instead. */
export interface Limit {
  target: number;
  gate?: number;
  why?: string;
}

export type MetricName = 'ratioToReferenceMin' | 'eventsPerSecondMin' | 'jobsPerSecondMin' | 'p99MsMax';

export interface Thresholds {
  global: { errorsMax: number; lostMax: number };
  scenarios: Record<string, Partial<Record<MetricName, Limit>>>;
}

const gateDir = (): string => path.join(projectRoot(), 'perf', 'gate');

export function loadScenarios(): Scenarios {
  return JSON.parse(readFileSync(path.join(gateDir(), 'scenarios.json'), 'utf8')) as Scenarios;
}

export function loadThresholds(): Thresholds {
  return JSON.parse(readFileSync(path.join(gateDir(), 'thresholds.json'), 'utf8')) as Thresholds;
}
