// Real Redis backends for the broker and presence contract suites: a standalone redis-server and a
// 3-master Redis Cluster, each with a way to crash (SIGKILL) and restart what serves a topic.
import { Redis } from 'ioredis';
import {
  redisNodeFaults,
  startRedis,
  startRedisCluster,
  type RedisNodeFaults,
} from '../../../testkit/src/index.js';
import type { RedisTarget } from '../../src/broker/redis-connection.js';

/** One running Redis deployment the Redis implementations can be pointed at. */
export interface RedisBackend {
  target: RedisTarget;
  /** SIGKILLs the server that owns `channel` (standalone: the server; cluster: the master of its slot). Returns the restart. */
  crash(channel: string): Promise<() => Promise<void>>;
  /** How many different servers own these channels/keys (1 on standalone). */
  shardsOf(names: string[]): Promise<number>;
  stop(): Promise<void>;
}

export async function startStandaloneBackend(): Promise<RedisBackend> {
  const redis = await startRedis();
  return {
    target: { url: redis.url },
    async crash() {
      await redis.kill();
      return () => redis.restart();
    },
    async shardsOf() {
      return 1;
    },
    stop: () => redis.stop(),
  };
}

export async function startClusterBackend(): Promise<RedisBackend> {
  const cluster = await startRedisCluster(3);
  const faults: RedisNodeFaults[] = [];
  // Asks a live member (any will do: slot ownership is the same everywhere) which port owns each name.
  const owners = async (names: string[]): Promise<number[]> => {
    for (const node of cluster.nodes) {
      const probe = new Redis({ port: node.port, lazyConnect: true, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        const slots = await probe.cluster('SLOTS');
        const out: number[] = [];
        for (const name of names) {
          const slot = Number(await probe.cluster('KEYSLOT', name));
          const range = slots.find(([start, end]) => slot >= start && slot <= end);
          if (!range) throw new Error(`slot ${slot} of ${name} is not served`);
          out.push(range[2]![1]);
        }
        return out;
      } catch {
        continue;
      } finally {
        probe.disconnect();
      }
    }
    throw new Error('no cluster member answered');
  };
  return {
    target: { clusterNodes: cluster.nodes },
    async crash(channel) {
      const [port] = await owners([channel]);
      const node = redisNodeFaults({ port: port! });
      faults.push(node);
      await node.kill();
      return () => node.restart();
    },
    async shardsOf(names) {
      return new Set(await owners(names)).size;
    },
    async stop() {
      await Promise.all(faults.map((f) => f.stop()));
      await cluster.stop();
    },
  };
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs` (a bound, not an assertion on speed). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Like `waitFor`, for a check that needs to await (each attempt runs after the previous one ends). */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A unique topic name per call, so cases never see each other's traffic. */
export function uniqueTopic(label: string): string {
  return `room:${label}:${Math.random().toString(36).slice(2, 10)}`;
}
