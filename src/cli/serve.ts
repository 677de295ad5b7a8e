import { loadServerConfig } from '../config.js';
import { bootstrapAdminKey, prepareDatabase } from '../server/bootstrap.js';
import { createLogger } from '../server/logger.js';
import { startServer } from '../server/server.js';
import { setupTelemetry } from '../telemetry/setup.js';

/** Options of `aetheris serve` (flags override the environment). */
export interface ServeFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  databaseUrl?: string;
  metricsHost?: string;
  metricsPort?: string;
}

/** `aetheris serve`: database (embedded by default), migrations, first-start key, gRPC. */
export async function serve(flags: ServeFlags): Promise<void> {
  const config = loadServerConfig({
    host: flags.host,
    port: flags.port,
    dataDir: flags.dataDir,
    databaseUrl: flags.databaseUrl,
    metricsHost: flags.metricsHost,
    metricsPort: flags.metricsPort,
  });
  const logger = createLogger(config.logLevel);
  // Before the database: a taken metrics port fails the start at once, with nothing to undo.
  const telemetry = await setupTelemetry({
    ...(config.metricsPort === 0 ? {} : { metrics: { host: config.metricsHost, port: config.metricsPort } }),
  });
  const database = await prepareDatabase(config, logger);
  const token = await bootstrapAdminKey(database.url, config.dataDir);
  if (token) {
    process.stdout.write(
      `Created tenant "default" and its admin API key (shown once; saved to ${config.dataDir}/admin-key, mode 0600):\n${token}\n`,
    );
  }
  const server = await startServer({
    databaseUrl: database.url,
    host: config.host,
    port: config.port,
    logger,
    poolSize: config.poolSize,
    preparedStatements: config.preparedStatements,
    maxReceiveMessageBytes: config.maxReceiveMessageBytes,
    maxSendMessageBytes: config.maxSendMessageBytes,
    shutdownGraceMs: config.shutdownGraceMs,
    telemetry,
  });
  logger.info(
    {
      traces: telemetry.traceExport,
      metrics: telemetry.metricsAddress ? `http://${telemetry.metricsAddress}/metrics` : 'off',
    },
    'telemetry',
  );
  process.stdout.write(`aetheris listening on ${server.address}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    server
      .shutdown()
      .then(() => telemetry.shutdown())
      .then(() => database.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
