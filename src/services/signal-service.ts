import { type Signal, SignalState } from '../../gen/ts/aetheris/signal/v1/signal.js';
import {
  type InDoubtResolution,
  ResolutionKind,
  type SignalServiceServer,
} from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { Permission } from '../domain/api-key.js';
import { canonicalize } from '../domain/canonical-json.js';
import { AetherisError, Code, invalidField, notFound, Reason } from '../domain/errors.js';
import { payloadDigest } from '../domain/hash-chain.js';
import { isUuid, newId } from '../domain/ids.js';
import {
  requireEnum,
  requireJson,
  requireMaxLength,
  requireName,
  requireRange,
  requireUuid,
} from '../domain/validation.js';
import { unary } from '../server/handlers.js';
import { listSignals, type ResolutionRecord, resolveInDoubt, type SignalRecord, sendSignal } from '../store/signals.js';
import { actorOf, announce, type ServiceDeps } from './deps.js';
import { canonicalError } from './job-error.js';
import { jobStateToProto, jobToProto, timestampFromUs, toolCallToProto } from './mappers.js';

const SERVICE = 'aetheris.signal.v1.SignalService';
const MAX_SIGNAL_BYTES = 1024 * 1024;

/** Signals (human in the loop) and resolutions of in-doubt tool calls. */
export function signalService(deps: ServiceDeps): SignalServiceServer {
  return {
    sendSignal: unary(deps, `${SERVICE}/SendSignal`, Permission.WRITE, async (request, ctx) => {
      const jobId = requireUuid('job_id', request.jobId);
      const name = requireName('name', request.name);
      const signalId = requireUuid('signal_id', request.signalId);
      const payload = requireJson('payload', request.payload, MAX_SIGNAL_BYTES);
      const tenant = ctx.principal.tenant;
      const outcome = await sendSignal(deps.pool, {
        tenant,
        jobId,
        signalId,
        name,
        payload,
        digest: payloadDigest(payload),
        actor: actorOf(ctx.principal),
      });
      switch (outcome.kind) {
        case 'not_found':
          throw notFound('job', jobId);
        case 'conflict':
          throw new AetherisError({
            code: Code.FAILED_PRECONDITION,
            reason: Reason.IDEMPOTENCY_CONFLICT,
            message: `signal_id ${signalId} was already used for a different signal`,
            metadata: { field: 'signal_id', job_id: jobId },
          });
        case 'job_terminal':
          throw new AetherisError({
            code: Code.FAILED_PRECONDITION,
            reason: Reason.JOB_TERMINAL,
            message: `job ${jobId} is ${outcome.jobState}; it takes no more signals`,
            metadata: { job_id: jobId, state: outcome.jobState },
          });
        default:
          if (outcome.kind === 'sent') announce(deps, tenant, outcome.resumedQueue ?? undefined);
          return {
            signal: signalToProto(outcome.signal),
            duplicate: outcome.kind === 'duplicate',
            jobState: jobStateToProto(outcome.jobState),
          };
      }
    }),

    listSignals: unary(deps, `${SERVICE}/ListSignals`, Permission.READ, async (request, ctx) => {
      const jobId = requireUuid('job_id', request.jobId);
      const limit = request.pageSize === 0 ? 50 : requireRange('page_size', request.pageSize, 1, 500);
      const states = request.states.map((state, index) =>
        requireEnum(`states[${index}]`, state, [
          SignalState.SIGNAL_STATE_PENDING,
          SignalState.SIGNAL_STATE_CONSUMED,
        ]) === SignalState.SIGNAL_STATE_PENDING
          ? 'pending'
          : 'consumed',
      );
      const name = request.name === '' ? null : requireName('name', request.name);
      const after = decodeCursor(request.pageToken);
      const page = await listSignals(deps.pool, { tenant: ctx.principal.tenant, jobId, states, name, after, limit });
      const last = page.signals.at(-1);
      return {
        signals: page.signals.map(signalToProto),
        nextPageToken: page.more && last ? Buffer.from(`${last.sentAt}:${last.signalId}`).toString('base64url') : '',
      };
    }),

    resolveInDoubt: unary(deps, `${SERVICE}/ResolveInDoubt`, Permission.WRITE, async (request, ctx) => {
      const jobId = requireUuid('job_id', request.jobId);
      const callKey = request.callKey;
      if (callKey === '' || callKey.length > 256) throw invalidField('call_key', 'must be 1..256 characters');
      const resolutionId = request.resolutionId === '' ? newId() : requireUuid('resolution_id', request.resolutionId);
      const note = requireMaxLength('note', request.note, 4096);
      const resolution = request.resolution;
      if (!resolution) throw invalidField('resolution', 'one of retry, skip or fail is required');
      let result: string | null = null;
      let error: string | null = null;
      let failJob = false;
      if (resolution.$case === 'skip') result = requireJson('skip.result', resolution.value.result);
      if (resolution.$case === 'fail') {
        error = canonicalError('fail.error', resolution.value.error, 'RESOLVED_FAILED');
        failJob = resolution.value.failJob;
      }
      const tenant = ctx.principal.tenant;
      const requestDigest = payloadDigest(
        canonicalize({ callKey, kind: resolution.$case, result, error, failJob, note }),
      );
      const outcome = await resolveInDoubt(deps.pool, {
        tenant,
        jobId,
        callKey,
        resolutionId,
        kind: resolution.$case,
        result,
        error,
        failJob,
        note,
        requestDigest,
        actor: actorOf(ctx.principal),
      });
      switch (outcome.kind) {
        case 'not_found':
          throw notFound('job', jobId);
        case 'call_not_found':
          throw notFound('tool call', `${jobId}:${callKey}`);
        case 'job_terminal':
          throw new AetherisError({
            code: Code.FAILED_PRECONDITION,
            reason: Reason.JOB_TERMINAL,
            message: `job ${jobId} is finished; there is nothing to resolve`,
            metadata: { job_id: jobId },
          });
        case 'not_in_doubt':
          throw new AetherisError({
            code: Code.FAILED_PRECONDITION,
            reason: Reason.TOOL_CALL_NOT_IN_DOUBT,
            message: `tool call ${callKey} of job ${jobId} is not awaiting a decision`,
            metadata: { job_id: jobId, call_key: callKey },
          });
        case 'conflict':
          throw new AetherisError({
            code: Code.FAILED_PRECONDITION,
            reason: Reason.IDEMPOTENCY_CONFLICT,
            message: `resolution_id ${resolutionId} was already used for a different decision`,
            metadata: { field: 'resolution_id', job_id: jobId },
          });
        default:
          if (outcome.kind === 'resolved')
            announce(deps, tenant, outcome.job.state === 'pending' ? outcome.job.queue : undefined);
          return {
            call: toolCallToProto(outcome.call),
            job: jobToProto(outcome.job),
            resolution: resolutionToProto(outcome.resolution),
            duplicate: outcome.kind === 'duplicate',
          };
      }
    }),
  };
}

function signalToProto(signal: SignalRecord): Signal {
  return {
    id: signal.signalId,
    jobId: signal.jobId,
    name: signal.name,
    payload: Buffer.from(signal.payload, 'utf8'),
    state: signal.state === 'pending' ? SignalState.SIGNAL_STATE_PENDING : SignalState.SIGNAL_STATE_CONSUMED,
    sentAt: timestampFromUs(signal.sentAt),
    consumedAt: signal.consumedAt === null ? undefined : timestampFromUs(signal.consumedAt),
    consumedBySeq: signal.consumedBySeq ?? 0n,
    sender: signal.sender,
  };
}

const KINDS = {
  retry: ResolutionKind.RESOLUTION_KIND_RETRY,
  skip: ResolutionKind.RESOLUTION_KIND_SKIP,
  fail: ResolutionKind.RESOLUTION_KIND_FAIL,
};

function resolutionToProto(resolution: ResolutionRecord): InDoubtResolution {
  return {
    id: resolution.resolutionId,
    callKey: resolution.callKey,
    kind: KINDS[resolution.kind],
    actor: resolution.actor,
    note: resolution.note,
    resolvedAt: timestampFromUs(resolution.resolvedAt),
    eventSeq: resolution.eventSeq,
  };
}

function decodeCursor(token: string): { sentAt: bigint; signalId: string } | null {
  if (token === '') return null;
  const [sentAt, signalId] = Buffer.from(token, 'base64url').toString('utf8').split(':');
  if (!sentAt || !/^\d{1,19}$/.test(sentAt) || !signalId || !isUuid(signalId)) {
    throw invalidField('page_token', 'is not a token returned by this API');
  }
  return { sentAt: BigInt(sentAt), signalId };
}
