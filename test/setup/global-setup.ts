/**
 * Vitest global setup: one embedded PostgreSQL cluster for the whole test run. Test files get its
 * superuser URL with `inject('pgAdminUrl')` and create their own databases on it (see
 * test/helpers/pg-admin.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { migrateUp } from '../../src/store/migrator.js';
import { createDatabase } from '../helpers/pg-admin.js';

/** A migrated database every test file clones (CREATE DATABASE … TEMPLATE is fast). */
export const TEMPLATE_DATABASE = 'aetheris_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test run's embedded cluster (`postgres` database). */
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'aetheris-test-'));
  // mkdtemp creates 0700 dirs; as root, postgres runs as the `postgres` user, which must be able
  // to traverse this directory (otherwise the cluster would be relocated under /var/lib).
  await fs.chmod(root, 0o755);
  try {
    const cluster = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg') });
    await migrateUp(await createDatabase(cluster.connectionString, TEMPLATE_DATABASE));
    project.provide('pgAdminUrl', cluster.connectionString);
    return async () => {
      await cluster.stop();
      await fs.rm(root, { recursive: true, force: true });
    };
  } catch (err) {
    // The error already carries the tail of the initdb/postgres log.
    await fs.rm(root, { recursive: true, force: true });
    throw err;
  }
}
