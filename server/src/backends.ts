import type { Broker } from './broker/broker.js';
import { MemoryBroker } from './broker/memory-broker.js';
import type { Config } from './config.js';
import type { PresenceTracker } from './presence/presence.js';
import { MemoryPresence } from './presence/memory-presence.js';
import type { Logger } from './telemetry/logger.js';

export interface Backends {
  broker: Broker;
  presence: PresenceTracker;
}

/**
 * Picks the broker and presence implementations for BROKER: `memory` (single node, the default),
 * `redis` (REDIS_URL) or `redis-cluster` (REDIS_CLUSTER_NODES, sharded pub/sub). The Redis
 * modules are imported only when used, so a memory node never loads ioredis.
 */
export async function createBackends(config: Config, logger: Logger): Promise<Backends> {
  const nodeId = config.nodeId;
  if (config.broker === 'memory') {
    return { broker: new MemoryBroker({ nodeId }), presence: new MemoryPresence({ nodeId }) };
  }
  const redis =
    config.broker === 'redis'
      ? { url: config.redisUrl ?? '', auth: config.redisAuth }
      : { clusterNodes: config.redisClusterNodes, auth: config.redisAuth };
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
