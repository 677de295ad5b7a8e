import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type AnyCall, CallScope, type ScopeDeps } from '../src/server/call-scope.js';
import type { DatabaseHealth } from '../src/server/database-health.js';
import { createLogger } from '../src/server/logger.js';

// A call's abort signal is made on first use; it must still say what happened before that.
describe('CallScope', () => {
  function setup(options: { cancelled?: boolean; serving?: boolean; shuttingDown?: boolean } = {}) {
    const call = Object.assign(new EventEmitter(), {
      cancelled: options.cancelled ?? false,
      getDeadline: () => Infinity,
      getPeer: () => 'ipv4:127.0.0.1:1',
    });
    const healthListeners = new Set<(serving: boolean) => void>();
    const health = {
      isServing: options.serving ?? true,
      onChange: (listener: (serving: boolean) => void) => {
        healthListeners.add(listener);
        return () => healthListeners.delete(listener);
      },
    };
    const shutdown = new AbortController();
    if (options.shuttingDown) shutdown.abort();
    const deps: ScopeDeps = {
      health: health as unknown as DatabaseHealth,
      logger: createLogger('silent'),
      shutdown: shutdown.signal,
    };
    const scope = new CallScope(deps, 'M', call as unknown as AnyCall, null, undefined);
    return { call, scope, healthListeners, shutdown };
  }

  it('registers nothing until the signal is used, and aborts it on cancel afterwards', () => {
    const { call, scope, healthListeners } = setup();
    expect(call.listenerCount('cancelled')).toBe(0);
    const signal = scope.signal;
    expect(signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(1);
    expect(healthListeners.size).toBe(1);
    call.emit('cancelled');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ reason: 'CANCELLED' });
    scope.dispose();
    expect(call.listenerCount('cancelled')).toBe(0);
    expect(healthListeners.size).toBe(0);
  });

  it.each([
    [{ cancelled: true }, 'CANCELLED'],
    [{ shuttingDown: true }, 'SHUTTING_DOWN'],
    [{ serving: false }, 'DATABASE_UNAVAILABLE'],
  ])('starts aborted when its cause came first (%o)', (options, reason) => {
    const { call, scope, healthListeners } = setup(options);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toMatchObject({ reason });
    expect(call.listenerCount('cancelled') + healthListeners.size).toBe(0);
  });

  it('aborts on shutdown and on the database going away while in use', () => {
    const first = setup();
    const signal = first.scope.signal;
    first.shutdown.abort();
    expect(signal.reason).toMatchObject({ reason: 'SHUTTING_DOWN' });

    const second = setup();
    const other = second.scope.signal;
    for (const listener of second.healthListeners) listener(false);
    expect(other.reason).toMatchObject({ reason: 'DATABASE_UNAVAILABLE' });
  });

  it('leaves no listener behind when the signal is first used after the call ended', () => {
    const { call, scope, healthListeners } = setup();
    scope.dispose();
    expect(scope.signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled') + healthListeners.size).toBe(0);
  });
});
