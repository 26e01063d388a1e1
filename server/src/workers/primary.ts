/**
 * The primary process of a pod with WORKERS>1: holds the pod's one set of backends (broker,
 * presence, history: one Redis connection set per pod), forks the workers that serve PORT
 * (node:cluster shares the listening socket), relays between them (node-bus.ts, node-services.ts)
 * and serves METRICS_PORT for the pod (primary-ops.ts). SIGTERM/SIGINT drain every worker at once
 * over DRAIN_WINDOW_MS, then the history writes are flushed and the pod exits 0.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { createBackends } from '../backends.js';
import type { Config } from '../config.js';
import { createNodeHistory, logHistorySetup, SHUTDOWN_MARGIN_MS } from '../switchboard.js';
import type { Logger } from '../telemetry/logger.js';
import type { ShareRefusal } from '../transport/drain.js';
import { NodeBus } from './node-bus.js';
import { NodeServices } from './node-services.js';
import { createPrimaryOps } from './primary-ops.js';
import { WorkerPool } from './worker-pool.js';

/** A share drain's answer from one worker, or why it refused. */
type ShareAnswer = { closing: number; windowMs: number } | ShareRefusal;

/** Starts the pod's backends and workers; resolves once every worker listens and METRICS_PORT is served. */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const backends = await createBackends(config, logger);
  const history = createNodeHistory(config, logger);
  try {
    await backends.broker.start();
    await backends.presence.start();
    await history.start();
  } catch (err) {
    logger.fatal(
      { err, broker: config.broker },
      'cannot connect the broker or the history sequencer: check REDIS_URL / REDIS_CLUSTER_NODES / REDIS_PASSWORD',
    );
    process.exit(1);
  }
  logHistorySetup(config, logger);
  const bus = new NodeBus(backends.broker, config.nodeId, logger);
  const services = new NodeServices(backends, history, bus, logger);
  let stopping = false;
  // Structured clone instead of JSON: payload text and binary buffers cross without a JSON escape pass.
  cluster.setupPrimary({ serialization: 'advanced' });
  const pool: WorkerPool = new WorkerPool({
    size: config.workers,
    env: workerEnv(config),
    handlersFor: (port) => {
      const handlers = services.handlersFor(port);
      handlers.set('shareDrain', (percent, windowMs) => shareDrain(pool, percent, windowMs));
      return handlers;
    },
    detach: (port) => services.detach(port),
    logger,
    onGiveUp: () => {
      for (const l of pool.links.values()) l.worker.process.kill('SIGKILL');
      process.exit(1);
    },
  });
  backends.broker.onConnectionChange((connected) => {
    for (const l of pool.links.values()) l.notify('broker', connected);
  });
  await pool.start();
  const ops = createPrimaryOps({
    pool,
    brokerConnected: () => backends.broker.isConnected(),
    stopping: () => stopping,
  });
  await new Promise<void>((resolve, reject) => {
    ops.once('error', reject);
    ops.listen(config.metricsPort, config.host, () => resolve());
  }).catch((err: unknown) => {
    logger.fatal({ err, metricsPort: config.metricsPort }, 'cannot listen: is METRICS_PORT free?');
    process.exit(1);
  });
  const shutdown = async () => {
    const deadline = Date.now() + config.drainWindowMs + SHUTDOWN_MARGIN_MS;
    // Every worker drains its own connections over the same window: the pod's are spread over it.
    await pool.ask('drain', false, [0], Math.max(1000, deadline - Date.now() - 2000));
    await pool.stop(Math.max(1000, deadline - Date.now() - 2000));
    const budget = Math.max(1000, deadline - Date.now() - 500);
    logger.info({ budgetMs: budget }, 'draining: flushing history writes');
    const flushed = await history.flush(budget);
    if (flushed) logger.info('draining: history writes flushed');
    else logger.warn('draining: history flush timed out; unwritten messages are lost from history');
    await closeAll(ops, backends, history);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { signal, drainWindowMs: config.drainWindowMs, workers: pool.links.size },
      'shutdown requested',
    );
    setTimeout(
      () => {
        logger.error('shutdown deadline passed: exiting');
        process.exit(1);
      },
      config.drainWindowMs + SHUTDOWN_MARGIN_MS + 1000,
    ).unref();
    shutdown().then(
      () => {
        logger.info('bye');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logger.info(
    { workers: config.workers, port: config.port, metricsPort: config.metricsPort, broker: config.broker },
    `switchboard primary: ${config.workers} workers listening on port ${config.port}`,
  );
}

/** What every worker gets over the primary's environment: one NODE_ID and one set of generated secrets. */
function workerEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = { NODE_ID: config.nodeId };
  if (config.generatedSecrets.includes('API_TOKEN')) env.API_TOKEN = config.apiToken;
  if (config.generatedSecrets.includes('JWT_SECRET') && config.jwt.secret) {
    env.JWT_SECRET = config.jwt.secret;
    // Set for the worker, the secret no longer counts as generated: keep demo tokens as the primary has them.
    if (config.demoTokens) env.DEMO_TOKENS = 'true';
  }
  return env;
}

/** `POST /api/drain` on any worker: every worker closes the share of its own connections. */
async function shareDrain(pool: WorkerPool, percent: unknown, windowMs: unknown): Promise<ShareAnswer> {
  const answers = await pool.ask<ShareAnswer>('share', 'busy', [percent, windowMs]);
  const refusal = answers.find((a): a is ShareRefusal => typeof a === 'string');
  if (refusal && answers.every((a) => typeof a === 'string')) return refusal;
  let closing = 0;
  for (const a of answers) if (typeof a !== 'string') closing += a.closing;
  return { closing, windowMs: windowMs as number };
}

async function closeAll(
  ops: Server,
  backends: Awaited<ReturnType<typeof createBackends>>,
  history: ReturnType<typeof createNodeHistory>,
): Promise<void> {
  await new Promise<void>((resolve) => ops.close(() => resolve()));
  await backends.presence.close();
  await backends.broker.close();
  await history.close();
}
