/**
 * Composition root: config -> logger -> broker/presence + history -> node -> transport, then signals.
 * SIGTERM/SIGINT drain the node (1012 in paced batches over DRAIN_WINDOW_MS), flush pending history
 * writes and exit 0 within the window plus SHUTDOWN_MARGIN_MS; a second signal exits at once with 1.
 */
import { createTokenVerifier } from './auth/verifier.js';
import { createBackends } from './backends.js';
import { loadChannelRoutes } from './channels/module.js';
import { createDefaultRouter } from './channels/router.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { SwitchboardNode } from './node.js';
import { createHistory, type HistoryLayer } from './store/index.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { configuredSecrets } from './telemetry/redact.js';
import { traceBroker, traceHistory } from './telemetry/traced-backends.js';
import { shutdownTracing, startTracing } from './telemetry/tracing.js';
import { createTransport, type Transport } from './transport/server.js';

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

/** Beyond the drain window: close handshakes (the drainer's grace) and the last history flush. */
const SHUTDOWN_MARGIN_MS = 8000;

function installShutdown(
  transport: Transport,
  node: SwitchboardNode,
  history: HistoryLayer,
  config: Config,
  logger: Logger,
): void {
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
      await transport.drainer.drain();
      await transport.close();
      // Sessions are closed and the API refuses work: nothing more is appended. Flush what the
      // history writer still holds, within what is left of the budget (at least a second).
      const budget = Math.max(1000, deadline - Date.now() - 500);
      logger.info({ budgetMs: budget }, 'draining: flushing history writes');
      const flushed = await history.flush(budget);
      if (flushed) logger.info('draining: history writes flushed');
      else
        logger.warn(
          { budgetMs: budget },
          'draining: history flush timed out; unwritten messages are lost from history',
        );
      await node.close();
      await history.close();
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
  const config = readConfig();
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
  const routes = config.channelsModule
    ? await loadChannelRoutes(config.channelsModule).catch((err: unknown) => {
        logger.fatal({ err, module: config.channelsModule }, 'cannot load CHANNELS_MODULE');
        return process.exit(1);
      })
    : [];
  if (config.channelsModule)
    logger.info({ module: config.channelsModule, routes: routes.length }, 'channel routes loaded');
  const { broker, presence } = await createBackends(config, logger);
  const history = createHistory({
    config: config.history,
    broker: config.broker,
    redis:
      config.broker === 'memory'
        ? undefined
        : config.broker === 'redis'
          ? { url: config.redisUrl ?? '', auth: config.redisAuth }
          : { clusterNodes: config.redisClusterNodes, auth: config.redisAuth },
    logger: logger.child({ component: 'history' }),
  });
  const verify = createTokenVerifier({ ...config.jwt, maxTokenAgeSeconds: config.edge.maxTokenAgeSeconds });
  const node = new SwitchboardNode({
    verifyToken: verify,
    nodeId: config.nodeId,
    limits: config.limits,
    presenceBatchMs: config.presenceBatchMs,
    router: createDefaultRouter(config.presenceTopics, routes),
    broker: traceBroker(broker),
    presence,
    history: traceHistory(history),
    logger,
  });
  try {
    await node.start();
    await history.start();
  } catch (err) {
    logger.fatal(
      { err, broker: config.broker },
      'cannot connect the broker or the history sequencer: check REDIS_URL / REDIS_CLUSTER_NODES / REDIS_PASSWORD',
    );
    process.exit(1);
  }
  logger.info(
    {
      sequencer: config.broker === 'memory' ? 'memory' : 'redis',
      database: config.history.databaseUrl ? 'postgresql' : 'none',
      cacheSize: config.history.cacheSize,
      retentionSeconds: config.history.retentionSeconds,
    },
    config.history.databaseUrl
      ? 'history: recent messages in the sequencer cache, durable history in PostgreSQL'
      : `history: last ${config.history.cacheSize} messages per topic for ${config.history.retentionSeconds} s in ${config.broker === 'memory' ? 'memory (lost on restart)' : 'Redis'}; set DATABASE_URL for durable history`,
  );
  const transport = createTransport({ config, node, verify, logger });
  const addr = await transport.listen().catch((err: unknown) => {
    logger.fatal(
      { err, port: config.port, metricsPort: config.metricsPort, host: config.host },
      'cannot listen: are PORT and METRICS_PORT free?',
    );
    process.exit(1);
  });
  installShutdown(transport, node, history, config, logger);
  logger.info(
    {
      host: addr.address,
      port: addr.port,
      metricsPort: (transport.opsServer.address() as { port: number }).port,
      broker: config.broker,
      env: config.nodeEnv,
    },
    `switchboard listening on http://${addr.address === '0.0.0.0' ? 'localhost' : addr.address}:${addr.port}`,
  );
}

void main();
