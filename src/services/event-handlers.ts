import type {
  AppendEventsRequest,
  AppendEventsResponse,
  ReadEventsRequest,
  ReadEventsResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { Permission, roleAllows } from '../domain/api-key.js';
import { AetherisError, Code, invalidField, notFound, Reason } from '../domain/errors.js';
import { payloadDigest } from '../domain/hash-chain.js';
import { isUuid } from '../domain/ids.js';
import { SYSTEM_EVENT_PREFIX } from '../domain/job-state.js';
import { Limits, requireInt64, requireJson, requireName, requireRange, requireUuid } from '../domain/validation.js';
import type { CallContext } from '../server/handlers.js';
import { type PreparedEvent, readJobEventsWithHead } from '../store/events.js';
import { actorOf, announce, type ServiceDeps } from './deps.js';
import { eventToProto } from './mappers.js';

/** Validates and canonicalises a batch; nothing is written unless every event is valid. */
export function prepareEvents(request: AppendEventsRequest): PreparedEvent[] {
  const count = request.events.length;
  if (count === 0) throw invalidField('events', 'at least one event is required');
  if (count > Limits.maxEventsPerAppend)
    throw invalidField('events', `at most ${Limits.maxEventsPerAppend} events per call`);
  let totalBytes = 0;
  const seen = new Set<string>();
  return request.events.map((event, index) => {
    const field = `events[${index}]`;
    let eventId: string | null = null;
    if (event.eventId !== '') {
      if (!isUuid(event.eventId)) throw invalidField(`${field}.event_id`, 'must be a UUID');
      eventId = event.eventId.toLowerCase();
      if (seen.has(eventId)) throw invalidField(`${field}.event_id`, 'is repeated in the batch');
      seen.add(eventId);
    }
    const type = requireName(`${field}.type`, event.type);
    if (type.startsWith(SYSTEM_EVENT_PREFIX))
      throw invalidField(`${field}.type`, `the ${SYSTEM_EVENT_PREFIX} prefix is reserved`);
    totalBytes += event.payload.length;
    if (totalBytes > Limits.maxAppendBytes)
      throw invalidField('events', `payloads exceed ${Limits.maxAppendBytes} bytes in all`);
    const payload = requireJson(`${field}.payload`, event.payload);
    return { eventId, type, payload, digest: payloadDigest(payload) };
  });
}

export async function handleAppendEvents(
  deps: ServiceDeps,
  request: AppendEventsRequest,
  ctx: CallContext,
): Promise<AppendEventsResponse> {
  // Fenced appends come from workers; unfenced ones from operators.
  const needed = request.fencingToken === undefined ? Permission.WRITE : Permission.WORK;
  if (!roleAllows(ctx.principal.role, needed)) {
    throw new AetherisError({
      code: Code.PERMISSION_DENIED,
      reason: Reason.PERMISSION_DENIED,
      message: `role ${ctx.principal.role} may not append ${needed === Permission.WORK ? 'fenced ' : ''}events`,
    });
  }
  const jobId = requireUuid('job_id', request.jobId);
  const events = prepareEvents(request);
  const tenant = ctx.principal.tenant;
  const started = performance.now();
  const outcome = await deps.appends.append({
    tenant,
    jobId,
    expectedSeq: request.expectedSeq === undefined ? null : requireInt64('expected_seq', request.expectedSeq),
    fencingToken: request.fencingToken === undefined ? null : requireInt64('fencing_token', request.fencingToken),
    events,
    actor: actorOf(ctx.principal),
  });
  deps.telemetry.metrics.appendFinished(
    outcome.kind,
    outcome.kind === 'appended' ? events.length : 0,
    (performance.now() - started) / 1000,
  );
  switch (outcome.kind) {
    case 'appended':
      announce(deps, tenant);
      return { firstSeq: outcome.firstSeq, lastSeq: outcome.lastSeq, lastHash: outcome.lastHash, duplicate: false };
    case 'duplicate':
      return { firstSeq: outcome.firstSeq, lastSeq: outcome.lastSeq, lastHash: outcome.lastHash, duplicate: true };
    case 'not_found':
      throw notFound('job', jobId);
    case 'wrong_expected_seq':
      throw new AetherisError({
        code: Code.ABORTED,
        reason: Reason.WRONG_EXPECTED_SEQ,
        message: `expected_seq ${request.expectedSeq} but the job's head is at ${outcome.actualSeq}`,
        metadata: {
          job_id: jobId,
          expected_seq: String(request.expectedSeq),
          actual_seq: outcome.actualSeq.toString(),
        },
      });
    case 'idempotency_conflict':
      throw new AetherisError({
        code: Code.FAILED_PRECONDITION,
        reason: Reason.IDEMPOTENCY_CONFLICT,
        message: 'event ids were already used for different events',
        metadata: { job_id: jobId },
      });
    case 'lease_lost':
      throw new AetherisError({
        code: Code.FAILED_PRECONDITION,
        reason: Reason.LEASE_LOST,
        message: 'the fencing token is stale: another lease owns the job, or it is no longer running',
        metadata: { job_id: jobId },
      });
    case 'job_terminal':
      throw new AetherisError({
        code: Code.FAILED_PRECONDITION,
        reason: Reason.JOB_TERMINAL,
        message: `job ${jobId} is finished; its history is closed`,
        metadata: { job_id: jobId },
      });
  }
}

export async function handleReadEvents(
  deps: ServiceDeps,
  request: ReadEventsRequest,
  ctx: CallContext,
): Promise<ReadEventsResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const limit = request.limit === 0 ? 100 : requireRange('limit', request.limit, 1, 1000);
  const afterSeq = requireInt64('after_seq', request.afterSeq);
  const page = await readJobEventsWithHead(deps.pool, ctx.principal.tenant, jobId, afterSeq, limit);
  if (!page) throw notFound('job', jobId);
  return { events: page.events.map(eventToProto), headSeq: page.headSeq };
}
