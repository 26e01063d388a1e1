/**
 * The two-node variants: two server processes sharing one real redis-server (Switchboard with
 * BROKER=redis, Socket.IO with @socket.io/redis-adapter), Redis and both nodes pinned to the server
 * CPUs. Subscribers alternate between the nodes, the publishers are on node 0, so half the
 * deliveries cross Redis. Redis's CPU is measured on its own (/proc/<pid>/sched of redis-server).
 */
import { randomBytes } from 'node:crypto';
import { startRedis, type RedisServer } from '../../testkit/src/index.js';
import { pin, type CpuPlan } from './cpus.js';
import { pidListeningOn } from './procfs.js';
import { startTarget, type Target, type TargetName, type TargetOptions } from './targets.js';

/** Servers that can run on two nodes over Redis (the `ws` baselines have no cross-node fan-out). */
export const TWO_NODE_TARGETS: readonly TargetName[] = ['switchboard', 'socketio'];

export interface TwoNodes {
  target: Target;
  redisPid: number;
  stop(): Promise<void>;
}

export async function startTwoNodes(
  name: TargetName,
  cpus: CpuPlan,
  opts: Omit<TargetOptions, 'nodes' | 'redisUrl' | 'cpus'>,
): Promise<TwoNodes> {
  if (!TWO_NODE_TARGETS.includes(name)) throw new Error(`${name} has no two-node variant`);
  // With a password, as in production (Switchboard with NODE_ENV=production refuses a Redis without one).
  const password = randomBytes(16).toString('hex');
  const redis: RedisServer = await startRedis([], { password });
  try {
    const redisPid = pidListeningOn(redis.port);
    if (redisPid === null) throw new Error(`no process found listening on redis port ${redis.port}`);
    if (cpus.pinned) pin(redisPid, cpus.server);
    const sb = name === 'switchboard';
    const target = await startTarget(name, {
      ...opts,
      env: { ...opts.env, ...(sb ? { REDIS_PASSWORD: password } : {}) },
      nodes: 2,
      redisUrl: sb ? redis.url : `redis://:${password}@${redis.host}:${redis.port}`,
      cpus: cpus.pinned ? cpus.server : undefined,
    });
    return {
      target,
      redisPid,
      async stop() {
        await target.stop();
        await redis.stop();
      },
    };
  } catch (err) {
    await redis.stop();
    throw err;
  }
}

/** Where subscriber i connects: node i % 2. */
export function nodeAddresses(target: Target): { host: string; port: number }[] {
  return target.nodes.map((_, i) => {
    const ep = target.endpoint(i);
    return { host: ep.host, port: ep.port };
  });
}
