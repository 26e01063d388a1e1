/**
 * One Switchboard server in this process: broker/presence + history -> node -> transport, started
 * and stopped as a unit. main.ts runs one from the environment (plus signals and exit codes); the
 * embedding API (index.ts) runs one inside another program's process.
 */
import { createTokenVerifier } from './auth/verifier.js';
import { createBackends, type Backends } from './backends.js';
import type { ConnectHandler } from './channels/connect.js';
import { createDefaultRouter, type Route } from './channels/router.js';
import type { Config } from './config.js';
import { createHooks } from './channels/hooks/routes.js';
import { SwitchboardNode } from './node.js';
import { createHistory, type HistoryAccess, type HistoryLayer } from './store/index.js';
import { recordBuildInfo } from './telemetry/build-info.js';
import type { Logger } from './telemetry/logger.js';
import { traceBroker, traceHistory } from './telemetry/traced-backends.js';
import type { ShareDrainer } from './transport/api-drain.js';
import { createTransport, type Transport } from './transport/server.js';

/** Beyond the drain window: close handshakes (the drainer's grace) and the last history flush. */
export const SHUTDOWN_MARGIN_MS = 8000;

export interface ServerParts {
  node: SwitchboardNode;
  transport: Transport;
  /** Where the public server listens. */
  address: { host: string; port: number };
  metricsPort: number;
  /**
   * Drains (1012 in paced batches over DRAIN_WINDOW_MS), stops HTTP, flushes history writes within
   * `flushBudgetMs()` (asked once the drain is done), disconnects the backends. Resolves false
   * when the history flush timed out.
   */
  stop(flushBudgetMs: () => number): Promise<boolean>;
}

/** Why a start failed: which step (the caller logs it with its own words). */
export class StartError extends Error {
  constructor(
    readonly step: 'backends' | 'listen',
    override readonly cause: unknown,
  ) {
    super(`switchboard start failed at ${step}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** A worker process's own seams (WORKERS>1, workers/worker.ts); none: a whole node in this process. */
export interface WorkerSeams {
  /** Broker, presence and client events reached through the primary. */
  backends: Backends;
  /** The pod's history layer in the primary. */
  history: HistoryAccess;
  /** `POST /api/drain` on this worker drains a share of every worker's connections. */
  shareDrainer: ShareDrainer;
}

/** Starts a server from `config` with the given channel routes (tried before the built-in ones). */
export async function startServer(
  config: Config,
  logger: Logger,
  channels: { routes: readonly Route[]; connect?: ConnectHandler },
  worker?: WorkerSeams,
): Promise<ServerParts> {
  const { broker, presence, clientEvents } = worker?.backends ?? (await createBackends(config, logger));
  const history = worker?.history ?? createNodeHistory(config, logger);
  const verify = createTokenVerifier({ ...config.jwt, maxTokenAgeSeconds: config.edge.maxTokenAgeSeconds });
  const hooks = config.hooks ? createHooks(config.hooks, config.nodeId, config.presenceTopics) : undefined;
  if (channels.connect && hooks?.connect) {
    logger.warn("both CHANNELS_MODULE and HOOKS_EVENTS define connect: the module's connect is used");
  }
  const node = new SwitchboardNode({
    verifyToken: verify,
    connect: channels.connect ?? hooks?.connect,
    publishGate: hooks?.publishGate,
    nodeId: config.nodeId,
    limits: config.limits,
    presenceBatchMs: config.presenceBatchMs,
    // Channel code's routes first, then HOOKS_TOPICS, then the built-in relay.
    router: createDefaultRouter(config.presenceTopics, [...channels.routes, ...(hooks?.routes ?? [])]),
    broker: traceBroker(broker),
    presence,
    clientEvents,
    history: traceHistory(history),
    logger,
    apiAwaitsSequencing: worker !== undefined,
  });
  try {
    await node.start();
    await history.start();
  } catch (err) {
    await node.close().catch(() => undefined);
    await history.close().catch(() => undefined);
    throw new StartError('backends', err);
  }
  if (!worker) logHistorySetup(config, logger);
  logger.info(recordBuildInfo(config.revision), 'build');
  // A worker's METRICS_PORT is the primary's: the pod answers /metrics and the probes once.
  const transport = createTransport({
    config,
    node,
    verify,
    logger,
    opsPort: !worker,
    shareDrainer: worker?.shareDrainer,
  });
  let addr;
  try {
    addr = await transport.listen();
  } catch (err) {
    await transport.close().catch(() => undefined);
    await node.close().catch(() => undefined);
    await history.close().catch(() => undefined);
    throw new StartError('listen', err);
  }
  return {
    node,
    transport,
    address: { host: addr.address, port: addr.port },
    metricsPort: transport.opsServer.listening
      ? (transport.opsServer.address() as { port: number }).port
      : config.metricsPort,
    async stop(flushBudgetMs) {
      await transport.drainer.drain();
      await transport.close();
      // Sessions are closed and the API refuses work: nothing more is appended.
      const budget = flushBudgetMs();
      // A worker's history writes are the primary's, which flushes them once every worker drained.
      if (!worker) logger.info({ budgetMs: budget }, 'draining: flushing history writes');
      const flushed = await history.flush(budget);
      await node.close();
      await history.close();
      return flushed;
    },
  };
}

/** The node's history layer for BROKER and DATABASE_URL (not started). */
export function createNodeHistory(config: Config, logger: Logger): HistoryLayer {
  return createHistory({
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
}

/** Says where history lives (once per node: a worker's is the primary's). */
export function logHistorySetup(config: Config, logger: Logger): void {
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
}
