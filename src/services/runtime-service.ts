import type { RuntimeServiceServer } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { Permission } from '../domain/api-key.js';
import { AetherisError, Code, Reason } from '../domain/errors.js';
import { serverStream, unary } from '../server/handlers.js';
import type { ServiceDeps } from './deps.js';
import { handleAppendEvents, handleReadEvents } from './event-handlers.js';
import { handleCancelJob, handleCreateJob, handleGetJob, handleListJobs } from './job-handlers.js';
import { handleStreamEvents, handleSubscribeEvents } from './stream-handlers.js';

const SERVICE = 'aetheris.runtime.v1.RuntimeService';

/** Builds the RuntimeService implementation: thin wrappers around the handler modules. */
export function runtimeService(deps: ServiceDeps): RuntimeServiceServer {
  const notYet = (method: string, permission: Permission) =>
    unary<unknown, never>(deps, `${SERVICE}/${method}`, permission, async () => {
      throw new AetherisError({
        code: Code.UNIMPLEMENTED,
        reason: Reason.UNIMPLEMENTED,
        message: `${SERVICE}/${method} is not implemented yet (see docs/STATUS.md)`,
      });
    });
  return {
    createJob: unary(deps, `${SERVICE}/CreateJob`, Permission.WRITE, (request, ctx) =>
      handleCreateJob(deps, request, ctx),
    ),
    getJob: unary(deps, `${SERVICE}/GetJob`, Permission.READ, (request, ctx) => handleGetJob(deps, request, ctx)),
    listJobs: unary(deps, `${SERVICE}/ListJobs`, Permission.READ, (request, ctx) => handleListJobs(deps, request, ctx)),
    cancelJob: unary(deps, `${SERVICE}/CancelJob`, Permission.WRITE, (request, ctx) =>
      handleCancelJob(deps, request, ctx),
    ),
    appendEvents: unary(deps, `${SERVICE}/AppendEvents`, null, (request, ctx) =>
      handleAppendEvents(deps, request, ctx),
    ),
    readEvents: unary(deps, `${SERVICE}/ReadEvents`, Permission.READ, (request, ctx) =>
      handleReadEvents(deps, request, ctx),
    ),
    streamEvents: serverStream(deps, `${SERVICE}/StreamEvents`, Permission.READ, (request, ctx, send) =>
      handleStreamEvents(deps, request, ctx, send),
    ),
    subscribeEvents: serverStream(deps, `${SERVICE}/SubscribeEvents`, Permission.READ, (request, ctx, send) =>
      handleSubscribeEvents(deps, request, ctx, send),
    ),
    acquireJob: notYet('AcquireJob', Permission.WORK),
    heartbeat: notYet('Heartbeat', Permission.WORK),
    beginToolCall: notYet('BeginToolCall', Permission.WORK),
    completeToolCall: notYet('CompleteToolCall', Permission.WORK),
    completeJob: notYet('CompleteJob', Permission.WORK),
    failJob: notYet('FailJob', Permission.WORK),
    releaseJob: notYet('ReleaseJob', Permission.WORK),
    getSummary: notYet('GetSummary', Permission.READ),
    listStuckJobs: notYet('ListStuckJobs', Permission.READ),
  };
}
