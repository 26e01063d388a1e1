/**
 * Composition root: config -> logger -> broker/presence -> node -> transport, then signals.
 * SIGTERM/SIGINT drain the node (1012 in paced batches over DRAIN_WINDOW_MS) and exit 0;
 * a second signal exits at once with 1.
 */
import { createTokenVerifier } from './auth/verifier.js';
import { createBackends } from './backends.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { SwitchboardNode } from './node.js';
import { createLogger, type Logger } from './telemetry/logger.js';
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

function installShutdown(transport: Transport, node: SwitchboardNode, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutdown requested');
    (async () => {
      await transport.drainer.drain();
      await transport.close();
      await node.close();
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
  const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  announceDevSecrets(config, logger);
  const { broker, presence } = await createBackends(config, logger);
  const node = new SwitchboardNode({
    nodeId: config.nodeId,
    limits: config.limits,
    presenceBatchMs: config.presenceBatchMs,
    broker,
    presence,
    logger,
  });
  try {
    await node.start();
  } catch (err) {
    logger.fatal(
      { err, broker: config.broker },
      'cannot connect the broker: check REDIS_URL / REDIS_CLUSTER_NODES',
    );
    process.exit(1);
  }
  const transport = createTransport({ config, node, verify: createTokenVerifier(config.jwt), logger });
  const addr = await transport.listen().catch((err: unknown) => {
    logger.fatal({ err, port: config.port, host: config.host }, 'cannot listen: is PORT free?');
    process.exit(1);
  });
  installShutdown(transport, node, logger);
  logger.info(
    { host: addr.address, port: addr.port, broker: config.broker, env: config.nodeEnv },
    `switchboard listening on http://${addr.address === '0.0.0.0' ? 'localhost' : addr.address}:${addr.port}`,
  );
}

void main();
