/**
 * Composition root: config -> logger -> broker/presence + history -> node -> transport, then signals.
 * SIGTERM/SIGINT drain the node (1012 in paced batches over DRAIN_WINDOW_MS), flush pending history
 * writes and exit 0 within the window plus SHUTDOWN_MARGIN_MS; a second signal exits at once with 1.
 * WORKERS>1: this process becomes the node:cluster primary (workers/primary.ts) and each forked
 * worker runs workers/worker.ts instead of the server above.
 */
import cluster from 'node:cluster';
import { loadChannelsModule, type ChannelsModule } from './channels/module.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { SHUTDOWN_MARGIN_MS, StartError, startServer, type ServerParts } from './switchboard.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { configuredSecrets } from './telemetry/redact.js';
import { shutdownTracing, startTracing } from './telemetry/tracing.js';
import { workerNodeId } from './workers/config.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: ${err.message}\nSee docs/configuration.md for every variable.\n`);
      process.exit(1);
    }
    throw err;
  }
}

function announceDevSecrets(config: Config, logger: Logger): void {
  if (config.generatedSecrets.length === 0) return;
  // Dev only (production refuses to start without them); printed once so a developer can call the API.
  logger.warn(
    `dev-only: generated ${config.generatedSecrets.join(' and ')} at start-up (random per run, never use in production).` +
      (config.generatedSecrets.includes('API_TOKEN') ? ` API_TOKEN for this run: ${config.apiToken}.` : '') +
      (config.generatedSecrets.includes('JWT_SECRET')
        ? ' Get demo tokens from GET /demo/token?user=NAME.'
        : ''),
  );
}

function installShutdown(server: ServerParts, config: Config, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    const deadline = Date.now() + config.drainWindowMs + SHUTDOWN_MARGIN_MS;
    logger.info({ signal, drainWindowMs: config.drainWindowMs }, 'shutdown requested');
    // Whatever happens below, the process is gone by the deadline (plus a second to log why).
    setTimeout(
      () => {
        logger.error('shutdown deadline passed: exiting');
        process.exit(1);
      },
      deadline - Date.now() + 1000,
    ).unref();
    (async () => {
      // The history flush gets what is left of the budget after the drain (at least a second).
      const flushed = await server.stop(() => Math.max(1000, deadline - Date.now() - 500));
      if (flushed) logger.info('draining: history writes flushed');
      else logger.warn('draining: history flush timed out; unwritten messages are lost from history');
      await shutdownTracing();
      logger.info('bye');
      process.exit(0);
    })().catch((err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function main(): Promise<void> {
  const loaded = readConfig();
  // A worker (WORKERS>1) runs under the pod's NODE_ID plus its own number (primary.ts sets NODE_ID).
  const config = cluster.isWorker
    ? { ...loaded, nodeId: workerNodeId(loaded.nodeId, cluster.worker!.id) }
    : loaded;
  const logger = createLogger({
    level: config.logLevel,
    nodeId: config.nodeId,
    secrets: configuredSecrets(config),
  });
  startTracing({ endpoint: config.otlpEndpoint, nodeId: config.nodeId, logger });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  announceDevSecrets(config, logger);
  if (cluster.isPrimary && config.workers > 1) {
    const { runPrimary } = await import('./workers/primary.js');
    return runPrimary(config, logger);
  }
  const channels: ChannelsModule = config.channelsModule
    ? await loadChannelsModule(config.channelsModule).catch((err: unknown) => {
        logger.fatal({ err, module: config.channelsModule }, 'cannot load CHANNELS_MODULE');
        return process.exit(1);
      })
    : { routes: [] };
  if (config.channelsModule) {
    logger.info(
      { module: config.channelsModule, routes: channels.routes.length, connect: !!channels.connect },
      'channel routes loaded',
    );
  }
  if (cluster.isWorker) {
    const { runWorker } = await import('./workers/worker.js');
    return runWorker(config, logger, channels).catch((err: unknown) => {
      logger.fatal({ err }, 'worker failed to start');
      process.exit(1);
    });
  }
  const server = await startServer(config, logger, channels).catch((err: unknown) => {
    if (err instanceof StartError && err.step === 'backends') {
      logger.fatal(
        { err: err.cause, broker: config.broker },
        'cannot connect the broker or the history sequencer: check REDIS_URL / REDIS_CLUSTER_NODES / REDIS_PASSWORD',
      );
    } else {
      logger.fatal(
        {
          err: err instanceof StartError ? err.cause : err,
          port: config.port,
          metricsPort: config.metricsPort,
          host: config.host,
        },
        'cannot listen: are PORT and METRICS_PORT free?',
      );
    }
    return process.exit(1);
  });
  const addr = server.address;
  installShutdown(server, config, logger);
  logger.info(
    {
      host: addr.host,
      port: addr.port,
      metricsPort: server.metricsPort,
      broker: config.broker,
      env: config.nodeEnv,
    },
    `switchboard listening on http://${addr.host === '0.0.0.0' ? 'localhost' : addr.host}:${addr.port}`,
  );
}

void main();
