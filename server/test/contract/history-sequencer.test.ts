// Contract suite for Sequencer: run against MemorySequencer, RedisSequencer on standalone Redis and
// RedisSequencer on a 3-master Redis Cluster (real servers from testkit).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  refusedPort,
  startRedis,
  startRedisCluster,
  type RedisCluster,
  type RedisServer,
} from '../../../testkit/src/index.js';
import { redisNodeFaults } from '../../../testkit/src/redis-faults.js';
import type { Publication } from '../../src/broker/broker.js';
import { MemorySequencer } from '../../src/store/memory-sequencer.js';
import { decodePublication, topicChannel, topicKeys } from '../../src/store/publication-codec.js';
import { RedisSequencer } from '../../src/store/redis-sequencer.js';
import type { SequencedPublication, Sequencer } from '../../src/store/sequencer.js';

interface CacheOptions {
  cacheSize?: number;
  cacheTtlMs?: number;
  cacheTopicMaxBytes?: number;
}

/** What the suite needs from one implementation. */
interface Harness {
  name: string;
  /** Several instances with their own connections behave as several nodes. */
  multiNode: boolean;
  setup(): Promise<void>;
  /** A new "node": a new sequencer with its own connection (memory: the one shared instance). */
  node(opts?: CacheOptions): Promise<Sequencer>;
  /** Loses the sequence data as a crash without persistence does. */
  loseData(topic: string): Promise<void>;
  /** Raw subscriber on the topic's channel; resolves once subscribed. */
  subscribe?(topic: string, onMessage: (raw: string) => void): Promise<() => void>;
  teardown(): Promise<void>;
}

const made: Sequencer[] = [];
async function track<S extends Sequencer>(s: S): Promise<S> {
  made.push(s);
  await s.start();
  return s;
}

function memoryHarness(): Harness {
  let shared: MemorySequencer | undefined;
  return {
    name: 'MemorySequencer',
    multiNode: false,
    async setup() {},
    async node(opts = {}) {
      if (Object.keys(opts).length > 0) {
        return track(new MemorySequencer({ cacheSize: 1000, cacheTtlMs: 60_000, ...opts }));
      }
      shared ??= await track(new MemorySequencer({ cacheSize: 1000, cacheTtlMs: 60_000 }));
      return shared;
    },
    async loseData() {
      // The memory sequence lives and dies with the process: a restart is a new instance.
      await shared?.close();
      shared = undefined;
    },
    async teardown() {},
  };
}

function redisHarness(): Harness {
  let redis: RedisServer;
  return {
    name: 'RedisSequencer (standalone)',
    multiNode: true,
    async setup() {
      redis = await startRedis();
    },
    node: (opts = {}) =>
      track(new RedisSequencer({ redis: { url: redis.url }, cacheSize: 1000, cacheTtlMs: 60_000, ...opts })),
    async loseData() {
      await redis.kill();
      await redis.restart();
    },
    async subscribe(topic, onMessage) {
      const sub = new Redis(redis.url);
      sub.on('message', (_ch: string, msg: string) => onMessage(msg));
      await sub.subscribe(topicChannel(topic));
      return () => sub.disconnect();
    },
    async teardown() {
      await redis?.stop();
    },
  };
}

function clusterHarness(): Harness {
  let cluster: RedisCluster;
  const restarted: { stop(): Promise<void> }[] = [];
  /** The master that owns `topic`'s slot (keys and shard channel). */
  async function owner(topic: string): Promise<{ host: string; port: number }> {
    const probe = new Redis(cluster.nodes[0]!.port);
    try {
      const slot = Number(await probe.cluster('KEYSLOT', topicKeys(topic).seq));
      const slots = await probe.cluster('SLOTS');
      const entry = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
      assert.ok(entry?.[2], `no node owns slot ${slot}`);
      return { host: entry[2][0], port: entry[2][1] };
    } finally {
      probe.disconnect();
    }
  }
  return {
    name: 'RedisSequencer (cluster)',
    multiNode: true,
    async setup() {
      cluster = await startRedisCluster(3);
    },
    node: (opts = {}) =>
      track(
        new RedisSequencer({
          redis: { clusterNodes: cluster.nodes },
          cacheSize: 1000,
          cacheTtlMs: 60_000,
          ...opts,
        }),
      ),
    async loseData(topic) {
      const faults = redisNodeFaults(await owner(topic));
      restarted.push(faults);
      await faults.kill();
      await faults.restart();
    },
    async subscribe(topic, onMessage) {
      const sub = new Redis((await owner(topic)).port);
      sub.on('smessage', (_ch: string, msg: string) => onMessage(msg));
      await sub.ssubscribe(topicChannel(topic));
      return () => sub.disconnect();
    },
    async teardown() {
      for (const r of restarted) await r.stop();
      await cluster?.stop();
    },
  };
}

function pub(topic: string, i: number, payload: unknown = { i }): Publication {
  return { topic, event: 'msg', payload, origin: 'test', publishedAt: Date.now() };
}

/** Retries `fn` until it resolves (e.g. while a client reconnects to a restarted Redis). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

for (const harness of [memoryHarness(), redisHarness(), clusterHarness()]) {
  describe(`Sequencer contract: ${harness.name}`, () => {
    before(() => harness.setup());
    after(async () => {
      for (const s of made.splice(0)) await s.close();
      await harness.teardown();
    });

    test('a new topic has an epoch and offset 0; appends continue that epoch from 1', async () => {
      const seq = await harness.node();
      const first = await seq.position('room:fresh');
      assert.equal(first.offset, 0);
      assert.ok(first.epoch.length >= 8);
      const a = await seq.append(pub('room:fresh', 1));
      assert.equal(a.epoch, first.epoch);
      assert.equal(a.offset, 1);
      assert.deepEqual(await seq.position('room:fresh'), { epoch: first.epoch, offset: 1 });
    });

    test('3 nodes x 500 concurrent appends to one topic get offsets exactly 1..1500, one epoch', async () => {
      const nodes = await Promise.all([harness.node(), harness.node(), harness.node()]);
      const results = await Promise.all(
        nodes.map((n, k) =>
          Promise.all(Array.from({ length: 500 }, (_, i) => n.append(pub('room:race', k * 500 + i)))),
        ),
      );
      const all = results.flat();
      const offsets = all.map((p) => p.offset).sort((a, b) => a - b);
      assert.deepEqual(
        offsets,
        Array.from({ length: 1500 }, (_, i) => i + 1),
      );
      assert.equal(new Set(all.map((p) => p.epoch)).size, 1);
      // Every publication kept its own content next to its offset.
      assert.equal(new Set(all.map((p) => (p.payload as { i: number }).i)).size, 1500);
      if (harness.multiNode) {
        assert.deepEqual(await nodes[2]!.position('room:race'), { epoch: all[0]!.epoch, offset: 1500 });
      }
    });

    test('topics count independently', async () => {
      const seq = await harness.node();
      await seq.append(pub('room:a', 1));
      await seq.append(pub('room:a', 2));
      const b = await seq.append(pub('room:b', 1));
      assert.equal(b.offset, 1);
      // Braces in a topic must not break the hash tag (one slot per topic on a cluster).
      const odd = await seq.append(pub('room:{odd}}x%7D', 1));
      assert.equal(odd.offset, 1);
      assert.equal((await seq.append(pub('room:{odd}}x%7D', 2))).offset, 2);
      assert.equal((await seq.append(pub('room:{odd}}x}', 1))).offset, 1);
    });

    test('the recent cache keeps the newest cacheSize publications, intact and in order', async () => {
      const seq = await harness.node({ cacheSize: 5 });
      const payload = {
        empty: [],
        obj: {},
        quote: 'a"b\\c',
        uni: 'é\u2028😀',
        n: 1.5,
        deep: [[{ x: null }]],
      };
      let last: SequencedPublication | undefined;
      for (let i = 1; i <= 8; i++) last = await seq.append(pub('room:cache', i, { ...payload, i }));
      const epoch = last!.epoch;
      const recent = await seq.readRecent('room:cache', epoch, 0);
      assert.deepEqual(
        recent.map((p) => p.offset),
        [4, 5, 6, 7, 8],
      );
      assert.deepEqual(recent[4]!.payload, { ...payload, i: 8 });
      assert.equal(recent[4]!.event, 'msg');
      assert.deepEqual(
        (await seq.readRecent('room:cache', epoch, 6)).map((p) => p.offset),
        [7, 8],
      );
      assert.deepEqual(await seq.readRecent('room:cache', epoch, 8), []);
      assert.deepEqual(await seq.readRecent('room:cache', 'another-epoch', 0), []);
    });

    test('the recent cache keeps at most cacheTopicMaxBytes per topic, evicting the oldest first', async () => {
      // Each encoded publication is a little over 1 KiB: a 3.5 KiB budget holds the newest 3.
      const seq = await harness.node({ cacheSize: 100, cacheTopicMaxBytes: 3584 });
      let last: SequencedPublication | undefined;
      for (let i = 1; i <= 10; i++)
        last = await seq.append(pub('room:bytes', i, { i, pad: 'p'.repeat(1024) }));
      const recent = await seq.readRecent('room:bytes', last!.epoch, 0);
      assert.deepEqual(
        recent.map((p) => p.offset),
        [8, 9, 10],
      );
      assert.deepEqual(recent[2]!.payload, { i: 10, pad: 'p'.repeat(1024) });
      // Another topic has its own budget.
      const other = await seq.append(pub('room:bytes2', 1, { pad: 'q'.repeat(1024) }));
      assert.equal((await seq.readRecent('room:bytes2', other.epoch, 0)).length, 1);
      assert.equal((await seq.readRecent('room:bytes', last!.epoch, 0)).length, 3);
      // A publication larger than the whole budget is not cached at all (recovery reports the gap).
      const big = await seq.append(pub('room:bytes', 11, { pad: 'x'.repeat(8192) }));
      assert.deepEqual(await seq.readRecent('room:bytes', big.epoch, 0), []);
    });

    test('a binary publication keeps its flag and base64 payload through the cache', async () => {
      const seq = await harness.node();
      const p = await seq.append({ ...pub('room:bin', 1), payload: 'AAEC/w==', binary: true });
      const [cached] = await seq.readRecent('room:bin', p.epoch, 0);
      assert.deepEqual(cached, p);
      assert.equal(cached?.binary, true);
    });

    test('the recent cache of an idle topic expires after cacheTtlMs', async () => {
      const seq = await harness.node({ cacheSize: 10, cacheTtlMs: 200 });
      const p = await seq.append(pub('room:ttl', 1));
      assert.equal((await seq.readRecent('room:ttl', p.epoch, 0)).length, 1);
      await eventually(async () => {
        assert.deepEqual(await seq.readRecent('room:ttl', p.epoch, 0), []);
      }, 10_000);
      // The sequence itself outlives the cache: same epoch, next offset.
      const q = await seq.append(pub('room:ttl', 2));
      assert.deepEqual([q.epoch, q.offset], [p.epoch, 2]);
    });

    test('the epoch changes after the sequence data is lost, and offsets restart at 1', async () => {
      const before = await harness.node();
      await before.append(pub('room:lost', 1));
      const old = await before.append(pub('room:lost', 2));
      await harness.loseData('room:lost');
      const seq = await harness.node();
      const fresh = await eventually(() => seq.append(pub('room:lost', 3)));
      assert.notEqual(fresh.epoch, old.epoch);
      assert.equal(fresh.offset, 1);
      assert.deepEqual(await seq.readRecent('room:lost', old.epoch, 0), []);
      assert.deepEqual(await seq.position('room:lost'), { epoch: fresh.epoch, offset: 1 });
    });

    if (harness.subscribe) {
      test('the channel carries every publication in offset order, with epoch and offset', async () => {
        const topic = 'room:order';
        const got: SequencedPublication[] = [];
        let done: () => void = () => {};
        const all = new Promise<void>((r) => (done = r));
        const unsubscribe = await harness.subscribe!(topic, (raw) => {
          got.push(decodePublication(raw) as SequencedPublication);
          if (got.length === 600) done();
        });
        try {
          const nodes = await Promise.all([harness.node(), harness.node(), harness.node()]);
          const sent = (
            await Promise.all(
              nodes.map((n, k) =>
                Promise.all(Array.from({ length: 200 }, (_, i) => n.append(pub(topic, k * 200 + i)))),
              ),
            )
          ).flat();
          await all;
          assert.deepEqual(
            got.map((p) => p.offset),
            Array.from({ length: 600 }, (_, i) => i + 1),
          );
          const byOffset = new Map(sent.map((p) => [p.offset, p]));
          for (const p of got) assert.deepEqual(p, byOffset.get(p.offset));
        } finally {
          unsubscribe();
        }
      });
    }
  });
}

describe('RedisSequencer without Redis', () => {
  test('start() gives up after its timeout with a message naming the setting', async () => {
    const seq = new RedisSequencer({
      redis: { url: `redis://127.0.0.1:${await refusedPort()}` },
      cacheSize: 10,
      cacheTtlMs: 1000,
    });
    try {
      await assert.rejects(seq.start(300), /could not reach Redis within 300 ms.*check REDIS_URL/);
      await assert.rejects(seq.append(pub('room:x', 1)));
    } finally {
      await seq.close();
    }
  });
});

describe('RedisSequencer hot cache byte count', () => {
  test('a hot cache written without its byte count (before the budget existed) is counted, not lost', async () => {
    const redis = await startRedis();
    const seq = new RedisSequencer({ redis: { url: redis.url }, cacheSize: 100, cacheTtlMs: 60_000 });
    try {
      await seq.start();
      const first = await seq.append(pub('room:upgrade', 1, { pad: 'a'.repeat(1000) }));
      await seq.client.del(topicKeys('room:upgrade').histBytes);
      const budgeted = new RedisSequencer({
        redis: { url: redis.url },
        cacheSize: 100,
        cacheTtlMs: 60_000,
        cacheTopicMaxBytes: 2500,
      });
      try {
        await budgeted.start();
        await budgeted.append(pub('room:upgrade', 2, { pad: 'b'.repeat(1000) }));
        // Both kept (about 2.2 KB); the count was rebuilt, so the third evicts the first.
        assert.deepEqual(
          (await seq.readRecent('room:upgrade', first.epoch, 0)).map((p) => p.offset),
          [1, 2],
        );
        await budgeted.append(pub('room:upgrade', 3, { pad: 'c'.repeat(1000) }));
        assert.deepEqual(
          (await seq.readRecent('room:upgrade', first.epoch, 0)).map((p) => p.offset),
          [2, 3],
        );
      } finally {
        await budgeted.close();
      }
    } finally {
      await seq.close();
      await redis.stop();
    }
  });
});
