import type { Command } from 'commander';
import { loadServerConfig } from '../config.js';
import { prepareDatabase } from '../server/bootstrap.js';
import { createLogger } from '../server/logger.js';
import { migrateUp, migrationStatus } from '../store/migrator.js';

/** `aetheris migrate up|status` against DATABASE_URL (or the embedded database). */
export function registerMigrateCommands(program: Command): void {
  const migrate = program.command('migrate').description('database migrations');
  migrate
    .command('up')
    .description('apply pending migrations (under a lock, checking checksums)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded data directory')
    .action(async (flags: { databaseUrl?: string; dataDir?: string }) => {
      await withDatabase(flags, async (url) => {
        const applied = await migrateUp(url);
        process.stdout.write(
          applied.length === 0 ? 'up to date\n' : applied.map((m) => `applied ${m.version}_${m.name}\n`).join(''),
        );
      });
    });
  migrate
    .command('status')
    .description('list migrations and whether each is applied')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded data directory')
    .action(async (flags: { databaseUrl?: string; dataDir?: string }) => {
      await withDatabase(flags, async (url) => {
        for (const status of await migrationStatus(url)) {
          process.stdout.write(
            `${String(status.version).padStart(4, '0')}_${status.name}\t${status.state}\t${status.appliedAt ?? ''}\n`,
          );
        }
      });
    });
}

/** Runs `fn` with a database URL; with the embedded default the cluster is started for it. */
export async function withDatabase(
  flags: { databaseUrl?: string; dataDir?: string },
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const config = loadServerConfig({ databaseUrl: flags.databaseUrl, dataDir: flags.dataDir, logLevel: 'warn' });
  const database = await prepareDatabase(config, createLogger('warn'), 'tool');
  try {
    await fn(database.url);
  } finally {
    await database.close();
  }
}
