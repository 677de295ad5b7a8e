#!/usr/bin/env node
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerMigrateCommands } from './migrate.js';
import { serve } from './serve.js';

/** The `aetheris` command. Errors print one line and exit non-zero. */
export function buildProgram(): Command {
  const program = new Command('aetheris')
    .description('Durable execution runtime for AI agents')
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  program
    .command('serve')
    .description('start the gRPC server (embedded PostgreSQL unless DATABASE_URL is set)')
    .option('--host <host>', 'listen address (AETHERIS_HOST)', undefined)
    .option('--port <port>', 'listen port (AETHERIS_PORT, default 50051)')
    .option('--data-dir <dir>', 'embedded data and admin key (AETHERIS_DATA_DIR, default ./.aetheris)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--metrics-port <port>', 'Prometheus /metrics port, 0 disables (AETHERIS_METRICS_PORT, default 9464)')
    .option('--metrics-host <host>', 'Prometheus /metrics address (AETHERIS_METRICS_HOST, default 127.0.0.1)')
    .action(serve);
  registerMigrateCommands(program);
  registerClientCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`aetheris: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
