/** Helpers of the signal suites: signals through the operator API, and an in-doubt tool call. */
import { randomUUID } from 'node:crypto';
import type { Signal, SignalState } from '../../gen/ts/aetheris/signal/v1/signal.js';
import {
  ListSignalsRequest,
  ResolveInDoubtRequest,
  type ResolveInDoubtResponse,
  SendSignalRequest,
  type SendSignalResponse,
} from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { type AetherisClients, unary } from '../../src/client/connect.js';

export function sendSignal(
  operator: AetherisClients,
  jobId: string,
  name: string,
  payload: unknown,
  signalId: string = randomUUID(),
): Promise<SendSignalResponse> {
  return unary(
    operator.signal,
    operator.signal.sendSignal,
    SendSignalRequest.fromPartial({
      jobId,
      name,
      signalId,
      payload: payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(payload)),
    }),
    operator.metadata(),
  );
}

export async function listSignals(
  operator: AetherisClients,
  jobId: string,
  filter: { states?: SignalState[]; name?: string } = {},
): Promise<Signal[]> {
  const { signals } = await unary(
    operator.signal,
    operator.signal.listSignals,
    ListSignalsRequest.fromPartial({ jobId, ...filter }),
    operator.metadata(),
  );
  return signals;
}

export function resolveInDoubt(
  operator: AetherisClients,
  request: Partial<ResolveInDoubtRequest>,
): Promise<ResolveInDoubtResponse> {
  return unary(
    operator.signal,
    operator.signal.resolveInDoubt,
    ResolveInDoubtRequest.fromPartial(request),
    operator.metadata(),
  );
}

/** The key id of a bearer token (`aek_<key id>_<secret>`), as it appears in actors (`key:<id>`). */
export function keyIdOf(token: string): string {
  const keyId = /^aek_([^_]+)_/.exec(token)?.[1];
  if (!keyId) throw new Error('not an Aetheris API key');
  return keyId;
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}
