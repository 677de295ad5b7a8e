import type { Command } from 'commander';
import { registerEventCommands } from './events.js';
import { registerJobCommands } from './jobs.js';
import { registerKeyCommands } from './keys.js';
import { registerTenantCommands } from './tenants.js';

/**
 * The client commands: `keys`, `jobs` and `events` talk to a running server through the
 * generated clients; `tenants` is an operator command on the database itself.
 */
export function registerClientCommands(program: Command): void {
  registerKeyCommands(program);
  registerJobCommands(program);
  registerEventCommands(program);
  registerTenantCommands(program);
}
