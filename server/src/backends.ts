import type { Broker } from './broker/broker.js';
import { MemoryBroker } from './broker/memory-broker.js';
import type { Config } from './config.js';
import type { PresenceTracker } from './presence/presence.js';
import { MemoryPresence } from './presence/memory-presence.js';
import type { Logger } from './telemetry/logger.js';
import type { RedisTarget } from './broker/redis-connection.js';
import type { WebhooksConfig } from './webhooks/config.js';
import type { Dropped, WebhookLedger } from './webhooks/ledger.js';
import type { ClientEventSink } from './webhooks/webhooks.js';
import { metrics } from './telemetry/metrics.js';

export interface Backends {
  broker: Broker;
  presence: PresenceTracker;
  /** WEBHOOK_CLIENT_EVENTS: told of client pushes the node broadcasts; undefined when off. */
  clientEvents?: ClientEventSink;
}

/**
 * Picks the broker and presence implementations for BROKER: `memory` (single node, the default),
 * `redis` (REDIS_URL) or `redis-cluster` (REDIS_CLUSTER_NODES, sharded pub/sub). The Redis
 * modules are imported only when used, so a memory node never loads ioredis.
 */
export async function createBackends(config: Config, logger: Logger): Promise<Backends> {
  const backends = await createBrokerAndPresence(config, logger);
  if (!config.webhooks) return backends;
  return { ...backends, ...(await withWebhooks(backends.presence, config, config.webhooks, logger)) };
}

/**
 * WEBHOOK_URL set: the presence tracker reports occupancy and presence to the webhook ledger
 * (memory on one node, Redis across nodes; docs/webhooks.md), and client pushes on
 * WEBHOOK_CLIENT_EVENTS topics go to the same outbox.
 */
async function withWebhooks(
  presence: PresenceTracker,
  config: Config,
  webhooks: WebhooksConfig,
  logger: Logger,
): Promise<Pick<Backends, 'presence' | 'clientEvents'>> {
  const { Webhooks, WebhookPresence, eventOf, clientEventSink } = await import('./webhooks/webhooks.js');
  const debounceMs = webhooks.vacateDebounceMs;
  const onDrop = (drop: Dropped) => {
    const event = 'client' in drop ? 'client_event' : eventOf(drop.slot.kind, drop.up);
    const topic = 'client' in drop ? drop.client.topic : drop.slot.topic;
    metrics.webhooks.labels(event, 'dropped').inc();
    logger.warn(
      { topic, event },
      'webhook dropped: the outbox is full (WEBHOOK_QUEUE_MAX or WEBHOOK_QUEUE_MAX_BYTES)',
    );
  };
  const outboxMax = webhooks.queueMax;
  const outboxMaxBytes = webhooks.queueMaxBytes;
  let ledger: WebhookLedger;
  if (config.broker === 'memory') {
    const { MemoryLedger } = await import('./webhooks/ledger.js');
    ledger = new MemoryLedger({ debounceMs, outboxMax, outboxMaxBytes, nodeId: config.nodeId, onDrop });
  } else {
    const { RedisLedger } = await import('./webhooks/redis-ledger.js');
    ledger = new RedisLedger({
      nodeId: config.nodeId,
      redis: redisTarget(config),
      debounceMs,
      ttlMs: config.presenceTtlMs,
      outboxMax,
      outboxMaxBytes,
      onDrop,
      logger: logger.child({ component: 'webhooks' }),
    });
  }
  const hooks = new Webhooks(webhooks, ledger, config.nodeId, logger.child({ component: 'webhooks' }));
  return {
    presence: new WebhookPresence(presence, hooks),
    clientEvents: clientEventSink(hooks, webhooks.clientEventTopics),
  };
}

function redisTarget(config: Config): RedisTarget {
  return config.broker === 'redis'
    ? { url: config.redisUrl ?? '', auth: config.redisAuth }
    : { clusterNodes: config.redisClusterNodes, auth: config.redisAuth };
}

async function createBrokerAndPresence(config: Config, logger: Logger): Promise<Backends> {
  const nodeId = config.nodeId;
  if (config.broker === 'memory') {
    return { broker: new MemoryBroker({ nodeId }), presence: new MemoryPresence({ nodeId }) };
  }
  const redis = redisTarget(config);
  const [{ RedisBroker }, { RedisPresence }] = await Promise.all([
    import('./broker/redis-broker.js'),
    import('./presence/redis-presence.js'),
  ]);
  return {
    broker: new RedisBroker({ nodeId, redis, logger: logger.child({ component: 'broker' }) }),
    presence: new RedisPresence({
      nodeId,
      redis,
      ttlMs: config.presenceTtlMs,
      logger: logger.child({ component: 'presence' }),
    }),
  };
}
