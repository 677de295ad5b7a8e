import type { RuntimeServiceServer } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { Permission } from '../domain/api-key.js';
import { serverStream, unary } from '../server/handlers.js';
import type { ServiceDeps } from './deps.js';
import { handleAppendEvents, handleReadEvents } from './event-handlers.js';
import { handleCancelJob, handleCreateJob, handleGetJob, handleListJobs } from './job-handlers.js';
import { handleGetSummary, handleListStuckJobs } from './operations-handlers.js';
import { handleStreamEvents, handleSubscribeEvents } from './stream-handlers.js';
import {
  handleAcquireJob,
  handleAwaitSignal,
  handleBeginToolCall,
  handleCompleteJob,
  handleCompleteToolCall,
  handleFailJob,
  handleHeartbeat,
  handleReleaseJob,
} from './worker-handlers.js';

const SERVICE = 'aetheris.runtime.v1.RuntimeService';

/** Builds the RuntimeService implementation: thin wrappers around the handler modules. */
export function runtimeService(deps: ServiceDeps): RuntimeServiceServer {
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
    acquireJob: unary(deps, `${SERVICE}/AcquireJob`, Permission.WORK, (request, ctx) =>
      handleAcquireJob(deps, request, ctx),
    ),
    heartbeat: unary(deps, `${SERVICE}/Heartbeat`, Permission.WORK, (request, ctx) =>
      handleHeartbeat(deps, request, ctx),
    ),
    beginToolCall: unary(deps, `${SERVICE}/BeginToolCall`, Permission.WORK, (request, ctx) =>
      handleBeginToolCall(deps, request, ctx),
    ),
    completeToolCall: unary(deps, `${SERVICE}/CompleteToolCall`, Permission.WORK, (request, ctx) =>
      handleCompleteToolCall(deps, request, ctx),
    ),
    completeJob: unary(deps, `${SERVICE}/CompleteJob`, Permission.WORK, (request, ctx) =>
      handleCompleteJob(deps, request, ctx),
    ),
    failJob: unary(deps, `${SERVICE}/FailJob`, Permission.WORK, (request, ctx) => handleFailJob(deps, request, ctx)),
    awaitSignal: unary(deps, `${SERVICE}/AwaitSignal`, Permission.WORK, (request, ctx) =>
      handleAwaitSignal(deps, request, ctx),
    ),
    releaseJob: unary(deps, `${SERVICE}/ReleaseJob`, Permission.WORK, (request, ctx) =>
      handleReleaseJob(deps, request, ctx),
    ),
    getSummary: unary(deps, `${SERVICE}/GetSummary`, Permission.READ, (request, ctx) =>
      handleGetSummary(deps, request, ctx),
    ),
    listStuckJobs: unary(deps, `${SERVICE}/ListStuckJobs`, Permission.READ, (request, ctx) =>
      handleListStuckJobs(deps, request, ctx),
    ),
  };
}
