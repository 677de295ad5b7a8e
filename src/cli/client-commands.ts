import type { Command } from 'commander';
import { registerEventCommands } from './events.js';
import { registerJobCommands } from './jobs.js';
import { registerKeyCommands } from './keys.js';
import { registerMonitorCommand } from './monitor.js';
import { registerSignalCommands } from './signals.js';
import { registerTenantCommands } from './tenants.js';

/**
 * The client commands: `keys`, `jobs`, `events`, `signal` and `monitor` talk to a running server
 * through the generated clients; `tenants` is an operator command on the database itself.
 */
export function registerClientCommands(program: Command): void {
  registerKeyCommands(program);
  registerJobCommands(program);
  registerEventCommands(program);
  registerSignalCommands(program);
  registerMonitorCommand(program);
  registerTenantCommands(program);
}
