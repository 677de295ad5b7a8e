import type { Metadata } from '@grpc/grpc-js';
import type { DatabasePool } from 'slonik';
import { type Principal, parseApiKey, secretMatches } from '../domain/api-key.js';
import { AetherisError, Code, Reason } from '../domain/errors.js';
import { findKeyForAuth } from '../store/api-keys.js';

interface CacheEntry {
  principal: Principal;
  secretHash: Buffer;
  expiresAt: number;
}

/**
 * Resolves `authorization: Bearer <key>` to a principal. Verified keys are cached for a few
 * seconds to keep a database round trip off every call; a revocation takes effect within
 * that TTL (and at once in the process that revoked it, see {@link forget}).
 */
export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly pool: DatabasePool,
    private readonly ttlMs = 5000,
  ) {}

  async authenticate(metadata: Metadata): Promise<Principal> {
    const header = metadata.get('authorization')[0];
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
      throw unauthenticated('missing `authorization: Bearer <api key>` metadata');
    }
    const parsed = parseApiKey(header.slice('Bearer '.length).trim());
    if (!parsed) throw unauthenticated('malformed API key');
    const now = Date.now();
    const cached = this.cache.get(parsed.keyId);
    if (cached && cached.expiresAt > now) {
      if (!secretMatches(parsed.secret, cached.secretHash)) throw unauthenticated('invalid API key');
      return cached.principal;
    }
    const key = await findKeyForAuth(this.pool, parsed.keyId);
    if (!key || key.revokedAt !== null || !secretMatches(parsed.secret, key.secretHash)) {
      this.cache.delete(parsed.keyId);
      throw unauthenticated('invalid or revoked API key');
    }
    const principal: Principal = { tenant: key.tenant, keyId: key.keyId, role: key.role };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(parsed.keyId, { principal, secretHash: key.secretHash, expiresAt: now + this.ttlMs });
    return principal;
  }

  /** Drops a key from the cache (after revocation in this process). */
  forget(keyId: string): void {
    this.cache.delete(keyId);
  }
}

function unauthenticated(message: string): AetherisError {
  return new AetherisError({ code: Code.UNAUTHENTICATED, reason: Reason.UNAUTHENTICATED, message });
}
