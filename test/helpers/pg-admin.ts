/** Database administration helpers for tests that share the run's embedded cluster. */
import pg from 'pg';
import { urlWithDatabase } from '../../src/store/embedded-postgres.js';

/** Quotes an SQL identifier ("a""b"). */
const ident = (name: string): string => pg.escapeIdentifier(name);

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** URL of database `name` on the same cluster (same credentials) as `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  return urlWithDatabase(adminUrl, name);
}

/** Creates database `name` (optionally from `template`) and returns its URL. */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  const from = template === undefined ? '' : ` TEMPLATE ${ident(template)}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${ident(name)}${from}`));
  return databaseUrl(adminUrl, name);
}

/** Drops database `name` if it exists, terminating its connections. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
}
