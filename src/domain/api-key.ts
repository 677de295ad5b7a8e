import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Roles of API keys, as stored. */
export const Role = { ADMIN: 'admin', OPERATOR: 'operator', WORKER: 'worker', READER: 'reader' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** The caller behind a request, resolved from its API key. */
export interface Principal {
  tenant: string;
  keyId: string;
  role: Role;
}

/** What a role may do. Checked by the service layer for every RPC. */
export const Permission = {
  READ: 'read',
  WRITE: 'write',
  WORK: 'work',
  ADMIN: 'admin',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set([Permission.READ, Permission.WRITE, Permission.WORK, Permission.ADMIN]),
  operator: new Set([Permission.READ, Permission.WRITE]),
  worker: new Set([Permission.READ, Permission.WORK]),
  reader: new Set([Permission.READ]),
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

const TOKEN = /^aek_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly minted key: the token is shown once, only the hash is stored. */
export interface MintedKey {
  keyId: string;
  token: string;
  secretHash: Buffer;
}

/** Mints `aek_<16 base36 id>_<32 random bytes, base64url>`. */
export function mintApiKey(): MintedKey {
  const keyId = Array.from(randomBytes(16), (byte) => (byte % 36).toString(36)).join('');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, token: `aek_${keyId}_${secret}`, secretHash: hashSecret(secret) };
}

/** Splits a bearer token; null when it is not an Aetheris key. */
export function parseApiKey(token: string): { keyId: string; secret: string } | null {
  const match = TOKEN.exec(token);
  if (!match?.[1] || !match[2]) return null;
  return { keyId: match[1], secret: match[2] };
}

/** SHA-256 is enough for 256-bit random secrets (no dictionary to guard against). */
export function hashSecret(secret: string): Buffer {
  // One-shot: every call verifies its key, and a Hash object per call cost twice as much.
  return hash('sha256', secret, 'buffer');
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const hash = hashSecret(secret);
  return hash.length === storedHash.length && timingSafeEqual(hash, storedHash);
}
