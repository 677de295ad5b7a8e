import type { Command } from 'commander';
import { mintApiKey, Role } from '../domain/api-key.js';
import { apiKeyToProto } from '../services/mappers.js';
import { ensureTenant, insertApiKey } from '../store/api-keys.js';
import { createDatabasePool } from '../store/pool.js';
import { CliError } from './cli-client.js';
import { withDatabase } from './migrate.js';
import { apiKeyJson, printObject } from './output.js';

/** Same rule as the `aetheris.tenants` check constraint, checked first for a readable error. */
const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ADMIN_KEY_NAME = 'tenant-admin';

/**
 * `aetheris tenants create <tenant>`: an operator command that writes to the database directly
 * (tenants are not an RPC). Creates the tenant and an admin key for it and prints the token once.
 * For an existing tenant it only adds an admin key (`created: false`), a way back in for an
 * operator who lost the tenant's keys.
 */
export function registerTenantCommands(program: Command): void {
  const tenants = program.command('tenants').description('tenants (talks to the database directly)');
  tenants
    .command('create')
    .description('create a tenant and an admin API key for it; prints the token once')
    .argument('<tenant>', 'tenant id: 1..63 of [a-z0-9_-], starting with a letter or digit')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded data directory')
    .action(async (tenant: string, flags: { databaseUrl?: string; dataDir?: string }) => {
      if (!TENANT_ID.test(tenant)) {
        throw new CliError(
          `tenant: expected 1..63 characters of [a-z0-9_-] starting with a letter or digit, got ${JSON.stringify(tenant)}`,
        );
      }
      await withDatabase(flags, async (url) => {
        const pool = await createDatabasePool({ connectionString: url, maximumPoolSize: 1 });
        try {
          const minted = mintApiKey();
          // One transaction: never a tenant without the key that was promised for it.
          const result = await pool.transaction(async (tx) => {
            const created = await ensureTenant(tx, tenant);
            const key = await insertApiKey(tx, {
              tenant,
              keyId: minted.keyId,
              name: ADMIN_KEY_NAME,
              role: Role.ADMIN,
              secretHash: minted.secretHash,
            });
            return { created, key };
          });
          printObject({
            tenant,
            created: result.created,
            token: minted.token,
            key: apiKeyJson(apiKeyToProto(result.key)),
          });
        } finally {
          await pool.end();
        }
      });
    });
}
