import type { DatabasePool } from 'slonik';
import type { HandlerDeps } from '../server/handlers.js';
import type { EventNotifier } from '../store/event-notifier.js';

/** What the service modules need: the pool, the notifier and the handler plumbing. */
export interface ServiceDeps extends HandlerDeps {
  pool: DatabasePool;
  notifier: EventNotifier;
}

/** The actor recorded on events written by a caller. */
export function actorOf(principal: { keyId: string }): string {
  return `key:${principal.keyId}`;
}
