/**
 * The TypeScript worker SDK: register handlers, run a {@link Worker}, make durable calls
 * through the handler's `ctx`.
 */
export {
  JobCancelledError,
  LeaseLostError,
  NondeterminismError,
  NonRetryableError,
  StepTimeoutError,
  ToolFailedError,
  WorkerShutdownError,
} from './errors.js';
export type {
  JobContext,
  JobHandler,
  JobInfo,
  ShutdownOptions,
  SignalResult,
  ToolCallContext,
  ToolOptions,
  WaitForSignalOptions,
  WorkerLogger,
  WorkerOptions,
} from './types.js';
export { WorkerState } from './types.js';
export { Worker } from './worker.js';
