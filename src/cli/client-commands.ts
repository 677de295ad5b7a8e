import type { Command } from 'commander';

/** Commands that talk to a running server through the generated client. */
export function registerClientCommands(_program: Command): void {}
