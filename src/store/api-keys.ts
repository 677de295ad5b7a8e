import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Role } from '../domain/api-key.js';
import type { Micros } from '../domain/records.js';
import { sql } from './sql.js';

/** An API key row without its hash. */
export interface ApiKeyRecord {
  tenant: string;
  keyId: string;
  name: string;
  role: Role;
  createdAt: Micros;
  revokedAt: Micros | null;
}

const keyRow = z.object({
  tenant_id: z.string(),
  key_id: z.string(),
  name: z.string(),
  role: z.custom<Role>(),
  created_at: z.bigint(),
  revoked_at: z.bigint().nullable(),
});

function toRecord(row: z.infer<typeof keyRow>): ApiKeyRecord {
  return {
    tenant: row.tenant_id,
    keyId: row.key_id,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** Creates the tenant if it does not exist; returns true when it was created. */
export async function ensureTenant(db: CommonQueryMethods, tenant: string): Promise<boolean> {
  const rows = await db.any(sql.type(z.object({ tenant_id: z.string() }))`
    insert into aetheris.tenants (tenant_id) values (${tenant}) on conflict do nothing returning tenant_id`);
  return rows.length > 0;
}

export async function insertApiKey(
  db: CommonQueryMethods,
  key: { tenant: string; keyId: string; name: string; role: Role; secretHash: Buffer },
): Promise<ApiKeyRecord> {
  const row = await db.one(sql.type(keyRow)`
    insert into aetheris.api_keys (tenant_id, key_id, name, role, secret_hash)
    values (${key.tenant}, ${key.keyId}, ${key.name}, ${key.role}, ${sql.binary(key.secretHash)})
    returning tenant_id, key_id, name, role, created_at, revoked_at`);
  return toRecord(row);
}

/** The key with its hash, for authentication (the only lookup not scoped by tenant). */
export async function findKeyForAuth(
  db: CommonQueryMethods,
  keyId: string,
): Promise<(ApiKeyRecord & { secretHash: Buffer }) | null> {
  const row = await db.maybeOne(sql.type(keyRow.extend({ secret_hash: z.custom<Buffer>() }))`
    select tenant_id, key_id, name, role, created_at, revoked_at, secret_hash
      from aetheris.api_keys where key_id = ${keyId}`);
  return row ? { ...toRecord(row), secretHash: row.secret_hash } : null;
}

export async function listApiKeys(
  db: CommonQueryMethods,
  tenant: string,
  includeRevoked: boolean,
): Promise<ApiKeyRecord[]> {
  const rows = await db.any(sql.type(keyRow)`
    select tenant_id, key_id, name, role, created_at, revoked_at from aetheris.api_keys
     where tenant_id = ${tenant} ${includeRevoked ? sql.fragment`` : sql.fragment`and revoked_at is null`}
     order by created_at, key_id`);
  return rows.map(toRecord);
}

/** Revokes a key of the tenant (idempotent); null when the tenant has no such key. */
export async function revokeApiKey(
  db: CommonQueryMethods,
  tenant: string,
  keyId: string,
): Promise<ApiKeyRecord | null> {
  const row = await db.maybeOne(sql.type(keyRow)`
    update aetheris.api_keys set revoked_at = coalesce(revoked_at, clock_timestamp())
     where tenant_id = ${tenant} and key_id = ${keyId}
    returning tenant_id, key_id, name, role, created_at, revoked_at`);
  return row ? toRecord(row) : null;
}
