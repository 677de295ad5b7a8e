import type { AdminServiceServer } from '../../gen/ts/aetheris/runtime/v1/admin_service.js';
import { mintApiKey, Permission } from '../domain/api-key.js';
import { invalidField, notFound } from '../domain/errors.js';
import { requireEnum } from '../domain/validation.js';
import { unary } from '../server/handlers.js';
import { insertApiKey, listApiKeys, revokeApiKey } from '../store/api-keys.js';
import type { ServiceDeps } from './deps.js';
import { apiKeyToProto, PROTO_ROLES, roleFromProto } from './mappers.js';

const SERVICE = 'aetheris.runtime.v1.AdminService';

/** API keys of the caller's tenant; every RPC requires the admin role. */
export function adminService(deps: ServiceDeps): AdminServiceServer {
  return {
    createApiKey: unary(deps, `${SERVICE}/CreateApiKey`, Permission.ADMIN, async (request, ctx) => {
      const name = request.name.trim();
      if (name === '' || name.length > 128) throw invalidField('name', 'must be 1..128 characters');
      const role = roleFromProto(requireEnum('role', request.role, PROTO_ROLES));
      const minted = mintApiKey();
      const key = await insertApiKey(deps.pool, {
        tenant: ctx.principal.tenant,
        keyId: minted.keyId,
        name,
        role,
        secretHash: minted.secretHash,
      });
      ctx.log.info({ keyId: key.keyId, role }, 'api key created');
      return { key: apiKeyToProto(key), token: minted.token };
    }),
    listApiKeys: unary(deps, `${SERVICE}/ListApiKeys`, Permission.ADMIN, async (request, ctx) => ({
      keys: (await listApiKeys(deps.pool, ctx.principal.tenant, request.includeRevoked)).map(apiKeyToProto),
    })),
    revokeApiKey: unary(deps, `${SERVICE}/RevokeApiKey`, Permission.ADMIN, async (request, ctx) => {
      if (request.keyId === '') throw invalidField('key_id', 'is required');
      const key = await revokeApiKey(deps.pool, ctx.principal.tenant, request.keyId);
      if (!key) throw notFound('api key', request.keyId);
      deps.authenticator.forget(key.keyId);
      ctx.log.info({ keyId: key.keyId }, 'api key revoked');
      return { key: apiKeyToProto(key) };
    }),
  };
}
