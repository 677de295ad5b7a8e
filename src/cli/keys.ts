import type { Command } from 'commander';
import {
  CreateApiKeyRequest,
  ListApiKeysRequest,
  RevokeApiKeyRequest,
  Role,
} from '../../gen/ts/aetheris/runtime/v1/admin_service.js';
import { parseApiKey } from '../domain/api-key.js';
import { CliError, type ConnectionFlags, withClient, withConnectionOptions } from './cli-client.js';
import { apiKeyJson, printLine, printObject } from './output.js';

const ROLES: Record<string, Role> = {
  admin: Role.ROLE_ADMIN,
  operator: Role.ROLE_OPERATOR,
  worker: Role.ROLE_WORKER,
  reader: Role.ROLE_READER,
};

/** `--role admin|operator|worker|reader` (also `ROLE_ADMIN`…) as the proto enum. */
export function parseRole(value: string): Role {
  const role = ROLES[value.toLowerCase().replace(/^role_/, '')];
  if (role === undefined)
    throw new CliError(`--role: expected one of ${Object.keys(ROLES).join(', ')}, got ${JSON.stringify(value)}`);
  return role;
}

/** `aetheris keys create|list|revoke`: API keys of the caller's tenant (AdminService; admin role). */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description("manage the tenant's API keys (requires an admin key)");

  withConnectionOptions(
    keys
      .command('create')
      .description('create an API key; prints its token once, with its metadata')
      .requiredOption('--name <name>', 'a name for the key, e.g. ci-worker')
      .requiredOption('--role <role>', 'admin, operator, worker or reader'),
  ).action(async (flags: ConnectionFlags & { name: string; role: string }) => {
    const request = CreateApiKeyRequest.fromPartial({ name: flags.name, role: parseRole(flags.role) });
    await withClient(flags, async (client) => {
      const response = await client.call(client.admin, client.admin.createApiKey, request);
      printObject({ token: response.token, key: response.key ? apiKeyJson(response.key) : null });
    });
  });

  withConnectionOptions(
    keys
      .command('list')
      .description('list API keys, one JSON line each (never their secrets)')
      .option('--all', 'include revoked keys', false),
  ).action(async (flags: ConnectionFlags & { all: boolean }) => {
    await withClient(flags, async (client) => {
      const response = await client.call(
        client.admin,
        client.admin.listApiKeys,
        ListApiKeysRequest.fromPartial({ includeRevoked: flags.all }),
      );
      for (const key of response.keys) printLine(apiKeyJson(key));
    });
  });

  withConnectionOptions(
    keys
      .command('revoke')
      .description('revoke an API key: later calls with it fail')
      .argument('<key_id>', 'the key id (a full token is accepted too)'),
  ).action(async (keyId: string, flags: ConnectionFlags) => {
    // A pasted token names its key id; only the id is sent, never the secret.
    const request = RevokeApiKeyRequest.fromPartial({ keyId: parseApiKey(keyId)?.keyId ?? keyId });
    await withClient(flags, async (client) => {
      const response = await client.call(client.admin, client.admin.revokeApiKey, request);
      printObject({ key: response.key ? apiKeyJson(response.key) : null });
    });
  });
}
