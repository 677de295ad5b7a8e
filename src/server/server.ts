import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { DatabasePool } from 'slonik';
import { ComplianceServiceService } from '../../gen/ts/aetheris/compliance/v1/compliance_service.js';
import { ForensicsServiceService } from '../../gen/ts/aetheris/forensics/v1/forensics_service.js';
import { AdminServiceService } from '../../gen/ts/aetheris/runtime/v1/admin_service.js';
import { SignalServiceService } from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { defaultPoolSize } from '../config.js';
import type { JobRecord } from '../domain/records.js';
import { adminService } from '../services/admin-service.js';
import type { ServiceDeps } from '../services/deps.js';
import { runtimeServiceDefinition } from '../services/event-wire.js';
import { runtimeService } from '../services/runtime-service.js';
import { signalService } from '../services/signal-service.js';
import { unimplementedService } from '../services/unimplemented.js';
import { AppendBatcher } from '../store/append-batcher.js';
import { EventNotifier } from '../store/event-notifier.js';
import { GroupCommit, type JobKey, jobKey } from '../store/group-commit.js';
import {
  type CreateJobBatchRow,
  type CreateJobOutcome,
  type CreateJobParams,
  createJob,
  createJobs,
  getJob,
  getJobs,
  type JobPage,
  type JobPageKey,
  listJobPages,
  listJobs,
  NO_JOB_FILTER,
  toCreateJobOutcome,
} from '../store/jobs.js';
import { countLiveJobs } from '../store/live-job-counts.js';
import { createDatabasePool } from '../store/pool.js';
import { projectRoot } from '../store/project-root.js';
import { WorkerWrites } from '../store/worker-writes.js';
import { NOOP_SERVER_METRICS, OtelServerMetrics } from '../telemetry/server-metrics.js';
import { TELEMETRY_OFF, type Telemetry } from '../telemetry/setup.js';
import { Authenticator } from './auth.js';
import { DatabaseHealth } from './database-health.js';
import type { ServerStats } from './handlers.js';
import { LeaseSweeper } from './lease-sweeper.js';
import type { Logger } from './logger.js';

/** Options of {@link startServer}. */
export interface ServerOptions {
  databaseUrl: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How often expired leases are swept, ms (default 1000). */
  sweepIntervalMs?: number;
  logger: Logger;
  /** PostgreSQL connections; default {@link defaultPoolSize}. */
  poolSize?: number;
  /** Statements each connection keeps prepared (default 256; 0 prepares none). */
  preparedStatements?: number;
  maxReceiveMessageBytes?: number;
  maxSendMessageBytes?: number;
  shutdownGraceMs?: number;
  /**
   * Traces and metrics (from `setupTelemetry`); default off: no span is created and metrics
   * calls are empty functions. The caller owns it and shuts it down after the server.
   */
  telemetry?: Telemetry;
}

/** A running server. */
export interface RunningServer {
  readonly port: number;
  readonly address: string;
  readonly pool: DatabasePool;
  readonly stats: Readonly<ServerStats>;
  readonly sweeper: LeaseSweeper;
  /** Graceful: NOT_SERVING, refuse new calls, end streams, drain in-flight calls, close the pool. */
  shutdown(): Promise<void>;
}

export const SERVICE_NAMES = [
  'aetheris.runtime.v1.RuntimeService',
  'aetheris.runtime.v1.AdminService',
  'aetheris.signal.v1.SignalService',
  'aetheris.forensics.v1.ForensicsService',
  'aetheris.compliance.v1.ComplianceService',
] as const;

/** Starts the gRPC server on an already migrated database. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { logger } = options;
  const poolSize = options.poolSize ?? defaultPoolSize();
  const pool = await createDatabasePool({
    connectionString: options.databaseUrl,
    maximumPoolSize: poolSize,
    preparedStatements: options.preparedStatements,
  });
  const notifier = new EventNotifier(options.databaseUrl, logger.child({ component: 'notifier' }));
  await notifier.start();
  const health = new DatabaseHealth(pool, notifier, logger.child({ component: 'health' }));
  await health.start();

  const shutdownController = new AbortController();
  // Every in-flight call listens for shutdown; thousands of concurrent calls are normal.
  setMaxListeners(0, shutdownController.signal);
  const stats: ServerStats = { messagesStreamed: 0 };
  const telemetry = options.telemetry ?? TELEMETRY_OFF;
  const metrics = telemetry.meter ? new OtelServerMetrics(telemetry.meter) : NOOP_SERVER_METRICS;
  // Queried only when scraped, at most every 15 s, and never while the database is down.
  const stopJobGauge = metrics.observeJobStates(async () => (health.isServing ? countLiveJobs(pool) : []));
  // Group commit (appends and the worker's hot writes): each kind may use a quarter of the pool.
  const inFlight = Math.max(1, Math.floor(poolSize / 4));
  const deps: ServiceDeps = {
    // A second append batch may go out while half a batch's events or more wait behind the first
    // (gate A/B on pool 4: 100-event appends 70–74k → 87–88k events/s; single-event appends,
    // which keep forming one batch, within noise).
    appends: new AppendBatcher(pool, { maxInFlight: inFlight, overflowInFlight: 1 }),
    workerWrites: new WorkerWrites(pool, inFlight),
    jobCreates: new GroupCommit<CreateJobParams, CreateJobBatchRow, CreateJobOutcome>({
      single: (params) => createJob(pool, params),
      batch: (all) => createJobs(pool, all),
      fromRow: toCreateJobOutcome,
      key: jobKey,
      maxInFlight: inFlight,
    }),
    // The same batching serves GetJob: concurrent reads share one query. Half the writes' limit:
    // a read batch takes ~0.2 ms, so two in flight keep it busy and let bigger batches form
    // (read_get A/B, 2 vs 4 in flight: +5–8% calls/s, PostgreSQL CPU per call 0.06 → 0.043 ms).
    jobReads: new GroupCommit<JobKey, JobRecord | null, JobRecord | null>({
      single: (key) => getJob(pool, key.tenant, key.jobId),
      batch: (keys) => getJobs(pool, keys),
      fromRow: (job) => job,
      key: jobKey,
      maxInFlight: Math.max(1, Math.floor(inFlight / 2)),
    }),
    // ListJobs without filters (a console's or a poller's listing): concurrent pages, one query.
    jobPages: new GroupCommit<JobPageKey, JobPage, JobPage>({
      single: (key) => listJobs(pool, key.tenant, NO_JOB_FILTER, key.cursor, key.limit),
      batch: (keys) => listJobPages(pool, keys),
      fromRow: (page) => page,
      key: (key) => key.tenant,
      maxInFlight: Math.max(1, Math.floor(inFlight / 2)),
    }),
    pool,
    notifier,
    authenticator: new Authenticator(pool),
    health,
    logger,
    shutdown: shutdownController.signal,
    stats,
    telemetry: { tracer: telemetry.tracer, metrics },
  };

  const server = new Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? 8 * 1024 * 1024,
    'grpc.max_send_message_length': options.maxSendMessageBytes ?? 16 * 1024 * 1024,
    // Detect dead peers on idle streams; let clients ping as often as every 10 s.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.max_connection_idle_ms': 30 * 60_000,
  });
  server.addService(runtimeServiceDefinition, runtimeService(deps));
  server.addService(AdminServiceService, adminService(deps));
  server.addService(SignalServiceService, signalService(deps));
  server.addService(
    ForensicsServiceService,
    unimplementedService(deps, 'aetheris.forensics.v1.ForensicsService', ForensicsServiceService),
  );
  server.addService(
    ComplianceServiceService,
    unimplementedService(deps, 'aetheris.compliance.v1.ComplianceService', ComplianceServiceService),
  );

  const healthService = new HealthImplementation({ '': 'SERVING' });
  const setHealth = (serving: boolean): void => {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    healthService.setStatus('', status);
    for (const name of SERVICE_NAMES) healthService.setStatus(name, status);
  };
  setHealth(health.isServing);
  health.onChange(setHealth);
  healthService.addToServer(server);
  new ReflectionService(
    loadFileDescriptorSetFromBuffer(readFileSync(path.join(projectRoot(), 'gen', 'descriptor.binpb'))),
  ).addToServer(server);

  const sweeper = new LeaseSweeper(
    pool,
    notifier,
    health,
    logger.child({ component: 'sweeper' }),
    options.sweepIntervalMs,
    metrics,
  );
  sweeper.start();

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  const address = `${options.host}:${port}`;
  logger.info({ address }, 'aetheris serving');

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({}, 'shutting down: draining calls');
      setHealth(false);
      health.stop();
      // Streams and long polls end now with UNAVAILABLE/SHUTTING_DOWN so clients resume elsewhere.
      shutdownController.abort();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({}, 'grace period over: cancelling remaining calls');
          server.forceShutdown();
          resolve();
        }, options.shutdownGraceMs ?? 10_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await sweeper.stop();
      stopJobGauge();
      await notifier.close();
      await pool.end();
      logger.info({}, 'stopped');
    })();
    return stopping;
  };
  return { port, address, pool, stats, sweeper, shutdown };
}
