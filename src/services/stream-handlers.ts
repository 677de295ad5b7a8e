import type { GlobalPosition } from '../../gen/ts/aetheris/runtime/v1/event.js';
import type {
  StreamEventsRequest,
  StreamEventsResponse,
  SubscribeEventsRequest,
  SubscribeEventsResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { invalidField, notFound } from '../domain/errors.js';
import { isTerminal } from '../domain/job-state.js';
import type { GlobalPositionRecord } from '../domain/records.js';
import { requireInt64, requireName, requireRange, requireUuid } from '../domain/validation.js';
import { type CallContext, type Send, throwIfAborted } from '../server/handlers.js';
import { eventsTopic } from '../store/event-notifier.js';
import {
  committedBefore,
  readJobEventsWithHead,
  readTenantEvents,
  snapshotXmax,
  type TenantEventFilter,
  tenantLogEnd,
} from '../store/events.js';
import type { ServiceDeps } from './deps.js';
import { eventToProto, jobStateToProto, positionToProto } from './mappers.js';

/** Re-check interval when no notification arrives: the safety net, not the mechanism. */
const SAFETY_RECHECK_MS = 2000;
/** Idle subscriptions send a checkpoint this often so clients can persist progress. */
const CHECKPOINT_INTERVAL_MS = 5000;

export async function handleStreamEvents(
  deps: ServiceDeps,
  request: StreamEventsRequest,
  ctx: CallContext,
  send: Send<StreamEventsResponse>,
): Promise<void> {
  const jobId = requireUuid('job_id', request.jobId);
  const batch = request.maxBatch === 0 ? 256 : requireRange('max_batch', request.maxBatch, 1, 1000);
  const tenant = ctx.principal.tenant;
  const topic = eventsTopic(tenant);
  let after = requireInt64('after_seq', request.afterSeq);
  let replayHead: bigint | undefined;
  let caughtUp = false;
  for (;;) {
    throwIfAborted(ctx.signal);
    const version = deps.notifier.version(topic);
    const page = await readJobEventsWithHead(deps.pool, tenant, jobId, after, batch);
    if (!page) throw notFound('job', jobId);
    replayHead ??= page.headSeq;
    const last = page.events.at(-1);
    if (last) after = last.seq;
    const reachedHead: boolean = !caughtUp && after >= replayHead;
    if (last || reachedHead) {
      await send({
        events: page.events.map(eventToProto),
        caughtUp: reachedHead,
        jobState: jobStateToProto(page.state),
      });
      caughtUp ||= reachedHead;
    }
    if (page.events.length === batch) continue;
    if (!request.follow) return;
    // The job's history is closed once it is terminal and everything up to its head was sent.
    if (isTerminal(page.state) && after >= page.headSeq) return;
    await deps.notifier.wait([topic], [version], SAFETY_RECHECK_MS, ctx.signal);
  }
}

export async function handleSubscribeEvents(
  deps: ServiceDeps,
  request: SubscribeEventsRequest,
  ctx: CallContext,
  send: Send<SubscribeEventsResponse>,
): Promise<void> {
  const batch = request.maxBatch === 0 ? 256 : requireRange('max_batch', request.maxBatch, 1, 1000);
  const filter = parseFilter(request);
  const tenant = ctx.principal.tenant;
  const topic = eventsTopic(tenant);
  const end = !request.after && request.fromEnd ? await tenantLogEnd(deps.pool) : null;
  let after: GlobalPositionRecord = request.after
    ? positionFrom(request.after)
    : (end?.position ?? { txId: 0n, position: 0n });
  // "The end as it was when the call began": every transaction that existed then has finished.
  const endXid = end ? end.xmax : await snapshotXmax(deps.pool);
  let caughtUp = false;
  let lastSentAt = 0;
  let lastSent = after;
  let heldBackDelay = 5;
  for (;;) {
    throwIfAborted(ctx.signal);
    const version = deps.notifier.version(topic);
    const page = await readTenantEvents(deps.pool, tenant, after, filter, batch);
    const last = page.events.at(-1);
    const checkpoint = page.drainedTo ?? (last ? { txId: last.txId, position: last.position } : after);
    // from_end: events of transactions that had committed when the call began are behind it,
    // even where the horizon, held back by an older open transaction, has not yet passed them.
    const events =
      end && after.txId < end.xmax ? page.events.filter((event) => !committedBefore(end, event.txId)) : page.events;
    // The end is reached once the horizon has passed every transaction of the call's start, or
    // nothing committed waits behind an open one.
    const atEnd = page.drainedTo !== null && (!page.heldBack || page.drainedTo.txId + 1n >= endXid);
    const reachedEnd: boolean = !caughtUp && atEnd;
    const idleCheckpointDue = Date.now() - lastSentAt >= CHECKPOINT_INTERVAL_MS && isAfter(checkpoint, lastSent);
    if (events.length > 0 || reachedEnd || idleCheckpointDue) {
      await send({
        events: events.map(eventToProto),
        checkpoint: positionToProto(checkpoint),
        caughtUp: reachedEnd,
      });
      deps.telemetry.metrics.eventsDelivered(events);
      lastSentAt = Date.now();
      lastSent = checkpoint;
      caughtUp ||= reachedEnd;
    }
    after = checkpoint;
    if (page.drainedTo === null) continue;
    if (atEnd && !request.follow) return;
    if (page.heldBack) {
      // Committed events wait behind an older open transaction; it may end without any
      // notification (rollback, another tenant), so poll briefly until the horizon passes.
      await sleep(heldBackDelay, ctx.signal);
      heldBackDelay = Math.min(heldBackDelay * 2, 200);
      continue;
    }
    heldBackDelay = 5;
    const wait = Math.min(SAFETY_RECHECK_MS, CHECKPOINT_INTERVAL_MS - (Date.now() - lastSentAt));
    await deps.notifier.wait([topic], [version], Math.max(wait, 50), ctx.signal);
  }
}

function parseFilter(request: SubscribeEventsRequest): TenantEventFilter {
  const filter: TenantEventFilter = { exactTypes: [], typePrefixes: [], jobIds: [], jobTypes: [] };
  const source = request.filter;
  if (!source) return filter;
  source.eventTypes.forEach((type, index) => {
    if (type.endsWith('*')) {
      const prefix = type.slice(0, -1);
      if (prefix !== '') requireName(`filter.event_types[${index}]`, prefix);
      filter.typePrefixes.push(prefix);
    } else filter.exactTypes.push(requireName(`filter.event_types[${index}]`, type));
  });
  if (source.jobIds.length > 100) throw invalidField('filter.job_ids', 'at most 100 job ids');
  filter.jobIds = source.jobIds.map((id, index) => requireUuid(`filter.job_ids[${index}]`, id));
  filter.jobTypes = source.jobTypes.map((type, index) => requireName(`filter.job_types[${index}]`, type));
  return filter;
}

function positionFrom(position: GlobalPosition): GlobalPositionRecord {
  return { txId: position.transactionId, position: requireInt64('after.position', position.position) };
}

function isAfter(a: GlobalPositionRecord, b: GlobalPositionRecord): boolean {
  return a.txId > b.txId || (a.txId === b.txId && a.position > b.position);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
