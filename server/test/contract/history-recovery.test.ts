// Recovery decision against real stores: MemorySequencer and RedisSequencer (standalone Redis), each
// with PostgreSQL behind it. The rule under test: a rejoin gets exactly the missed offsets, in order,
// or `recovered: false` and nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  startPostgres,
  startRedis,
  type PostgresServer,
  type RedisServer,
} from '../../../testkit/src/index.js';
import type { Publication } from '../../src/broker/broker.js';
import { parseHistoryConfig } from '../../src/store/config.js';
import { NullHistoryStore, type HistoryStore } from '../../src/store/history-store.js';
import { createHistory } from '../../src/store/index.js';
import { MemorySequencer } from '../../src/store/memory-sequencer.js';
import { PostgresHistoryStore } from '../../src/store/postgres-history-store.js';
import { RecoveryBudget } from '../../src/store/recovery-budget.js';
import { readSince, recover } from '../../src/store/recovery.js';
import { RedisSequencer } from '../../src/store/redis-sequencer.js';
import type { SequencedPublication, Sequencer } from '../../src/store/sequencer.js';
import { metrics } from '../../src/telemetry/metrics.js';

let pg: PostgresServer;
let redis: RedisServer;
const closers: (() => Promise<unknown>)[] = [];
let topicNo = 0;
const newTopic = () => `room:r${++topicNo}`;

function pgStore(over: { queueMax?: number; flushMs?: number } = {}): PostgresHistoryStore {
  const store = new PostgresHistoryStore({
    databaseUrl: pg.url,
    queueMax: over.queueMax ?? 10_000,
    batchSize: 100,
    flushMs: over.flushMs ?? 10,
    retentionCount: 1000,
    retentionSeconds: 86_400,
    migrateOnStart: true,
    pruneIntervalMs: 3_600_000,
  });
  closers.push(() => store.close());
  return store;
}

function pub(topic: string, i: number): Publication {
  return {
    topic,
    event: 'msg',
    // What the server publishes: the payload's JSON text, kept verbatim by every store.
    payloadJson: JSON.stringify({ i, text: `message ${i}` }),
    origin: 'node-a',
    publishedAt: Date.now(),
  };
}

/** Appends `n` publications through the sequencer and hands each to the store (the publish path). */
async function publish(
  seq: Sequencer,
  store: HistoryStore,
  topic: string,
  n: number,
): Promise<SequencedPublication[]> {
  const out: SequencedPublication[] = [];
  for (let i = 1; i <= n; i++) {
    const p = await seq.append(pub(topic, i));
    store.enqueue(p);
    out.push(p);
  }
  return out;
}

const outcome = async (o: string) =>
  (await metrics.recoveries.get()).values.find((v) => v.labels.outcome === o)?.value ?? 0;

const factories: { name: string; make(cache: { cacheSize: number; cacheTtlMs?: number }): Sequencer }[] = [
  {
    name: 'MemorySequencer',
    make: (c) => new MemorySequencer({ cacheTtlMs: 60_000, ...c }),
  },
  {
    name: 'RedisSequencer',
    make: (c) => new RedisSequencer({ redis: { url: redis.url }, cacheTtlMs: 60_000, ...c }),
  },
];

before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
});
after(async () => {
  for (const c of closers.reverse()) await c();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

for (const factory of factories) {
  describe(`recover() with ${factory.name} + PostgreSQL`, () => {
    const sequencer = async (cache: { cacheSize: number; cacheTtlMs?: number }) => {
      const s = factory.make(cache);
      closers.push(() => s.close());
      await s.start();
      return s;
    };

    test('contiguous from the cache: recovered with exactly the missed messages, in order', async () => {
      const [seq, store] = [await sequencer({ cacheSize: 100 }), pgStore()];
      await store.start();
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 10);
      const before = await outcome('recovered');
      const r = await recover({ topic, epoch: sent[0]!.epoch, offset: 3 }, seq, store, { maxMessages: 1000 });
      assert.equal(r.recovered, true);
      assert.deepEqual(r.publications, sent.slice(3));
      assert.deepEqual([r.epoch, r.offset], [sent[0]!.epoch, 10]);
      assert.equal((await outcome('recovered')) - before, 1);
    });

    test('older than the cache: the rest comes from PostgreSQL, still exact and in order', async () => {
      const [seq, store] = [await sequencer({ cacheSize: 5 }), pgStore()];
      await store.start();
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 20);
      assert.equal(await store.flush(20_000), true);
      assert.deepEqual(
        (await seq.readRecent(topic, sent[0]!.epoch, 0)).map((p) => p.offset),
        [16, 17, 18, 19, 20],
      );
      const r = await recover({ topic, epoch: sent[0]!.epoch, offset: 2 }, seq, store, { maxMessages: 1000 });
      assert.equal(r.recovered, true);
      assert.deepEqual(r.publications, sent.slice(2));
    });

    test('nothing missed: recovered with no publications', async () => {
      const [seq, store] = [await sequencer({ cacheSize: 5 }), new NullHistoryStore()];
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 3);
      const r = await recover({ topic, epoch: sent[0]!.epoch, offset: 3 }, seq, store, { maxMessages: 10 });
      assert.deepEqual([r.recovered, r.publications, r.offset], [true, [], 3]);
    });

    test('another epoch: not recovered, and told the current position', async () => {
      const [seq, store] = [await sequencer({ cacheSize: 100 }), new NullHistoryStore()];
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 4);
      const before = await outcome('not_recovered');
      const { release, ...r } = await recover({ topic, epoch: 'old-epoch', offset: 1 }, seq, store, {
        maxMessages: 1000,
      });
      release();
      assert.deepEqual(r, {
        epoch: sent[0]!.epoch,
        offset: 4,
        recovered: false,
        reason: 'epoch_changed',
        publications: [],
      });
      assert.equal((await outcome('not_recovered')) - before, 1);
    });

    test('an offset beyond the top is not recovered', async () => {
      const [seq, store] = [await sequencer({ cacheSize: 100 }), new NullHistoryStore()];
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 2);
      const r = await recover({ topic, epoch: sent[0]!.epoch, offset: 7 }, seq, store, { maxMessages: 1000 });
      assert.deepEqual([r.recovered, r.reason, r.publications], [false, 'bad_offset', []]);
    });

    test('bytes: a gap over maxBytes is too_large, one over the node budget is busy until the holder releases', async () => {
      // A cache of 2: most of the gap is sized by PostgreSQL (payload text + event, summed there).
      const [seq, store] = [await sequencer({ cacheSize: 2 }), pgStore()];
      await store.start();
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 10);
      assert.equal(await store.flush(20_000), true);
      const each = Buffer.byteLength(sent[5]!.payloadJson!) + Buffer.byteLength('msg');
      const req = { topic, epoch: sent[0]!.epoch, offset: 4 }; // 6 missed, about 6 x each bytes
      const gap = sent.slice(4).reduce((n, p) => n + Buffer.byteLength(p.payloadJson!) + 3, 0);
      assert.equal(await store.bytes(topic, sent[0]!.epoch, 4, 8), 4 * each);

      const tooLarge = await recover(req, seq, store, { maxMessages: 1000, maxBytes: gap - 1 });
      assert.deepEqual(
        [tooLarge.recovered, tooLarge.reason, tooLarge.publications],
        [false, 'too_large', []],
      );

      const budget = new RecoveryBudget(gap + 1);
      const first = await recover(req, seq, store, { maxMessages: 1000, maxBytes: gap, budget });
      assert.deepEqual([first.recovered, first.publications], [true, sent.slice(4)]);
      assert.equal(budget.reserved, gap);
      const second = await recover(req, seq, store, { maxMessages: 1000, maxBytes: gap, budget });
      assert.deepEqual([second.recovered, second.reason, second.publications], [false, 'busy', []]);
      first.release();
      first.release();
      assert.equal(budget.reserved, 0);
      const third = await recover(req, seq, store, { maxMessages: 1000, maxBytes: gap, budget });
      assert.equal(third.recovered, true);
      third.release();
    });

    test('a dropped history write (queue full) leaves a gap: not recovered, no partial fill', async () => {
      const seq = await sequencer({ cacheSize: 3 });
      // A queue of 4 with a long flush interval: publications 5..12 are dropped from history.
      const store = pgStore({ queueMax: 4, flushMs: 600_000 });
      await store.start();
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 12);
      assert.equal(await store.flush(20_000), true);
      const r = await recover({ topic, epoch: sent[0]!.epoch, offset: 2 }, seq, store, { maxMessages: 1000 });
      assert.deepEqual([r.recovered, r.reason, r.publications], [false, 'gap', []]);
      // Within what history does hold, recovery still works.
      const ok = await recover({ topic, epoch: sent[0]!.epoch, offset: 9 }, seq, store, {
        maxMessages: 1000,
      });
      assert.deepEqual(ok.publications, sent.slice(9));
    });

    test('an expired cache with no durable history: not recovered; with PostgreSQL: recovered', async () => {
      const seq = await sequencer({ cacheSize: 100, cacheTtlMs: 200 });
      const durable = pgStore();
      await durable.start();
      const topic = newTopic();
      const sent = await publish(seq, durable, topic, 6);
      assert.equal(await durable.flush(20_000), true);
      const deadline = Date.now() + 10_000;
      while ((await seq.readRecent(topic, sent[0]!.epoch, 0)).length > 0) {
        assert.ok(Date.now() < deadline, 'cache did not expire');
        await new Promise((r) => setTimeout(r, 50));
      }
      const req = { topic, epoch: sent[0]!.epoch, offset: 1 };
      const none = await recover(req, seq, new NullHistoryStore(), { maxMessages: 1000 });
      assert.deepEqual([none.recovered, none.reason, none.publications], [false, 'gap', []]);
      const fromPg = await recover(req, seq, durable, { maxMessages: 1000 });
      assert.equal(fromPg.recovered, true);
      assert.deepEqual(fromPg.publications, sent.slice(1));
    });

    test('more missed than maxMessages: not recovered; exactly maxMessages: recovered', async () => {
      const [seq, store] = [await sequencer({ cacheSize: 100 }), new NullHistoryStore()];
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 10);
      const epoch = sent[0]!.epoch;
      const over = await recover({ topic, epoch, offset: 4 }, seq, store, { maxMessages: 5 });
      assert.deepEqual([over.recovered, over.reason, over.publications], [false, 'too_many', []]);
      const exact = await recover({ topic, epoch, offset: 5 }, seq, store, { maxMessages: 5 });
      assert.deepEqual(exact.publications, sent.slice(5));
    });

    test('readSince pages history for the API and says whether it is complete', async () => {
      const seq = await sequencer({ cacheSize: 4 });
      const store = pgStore({ queueMax: 6, flushMs: 600_000 });
      await store.start();
      const topic = newTopic();
      const sent = await publish(seq, store, topic, 12); // history: 1..6 (queue), cache: 9..12
      assert.equal(await store.flush(20_000), true);
      const head = await readSince(topic, 0, 3, seq, store);
      assert.deepEqual([head.epoch, head.offset, head.complete], [sent[0]!.epoch, 12, true]);
      assert.deepEqual(head.publications, sent.slice(0, 3));
      const all = await readSince(topic, 0, 100, seq, store);
      assert.deepEqual(
        all.publications.map((p) => p.offset),
        [1, 2, 3, 4, 5, 6, 9, 10, 11, 12],
      );
      assert.equal(all.complete, false);
      const tail = await readSince(topic, 10, 100, seq, store);
      assert.deepEqual([tail.publications.map((p) => p.offset), tail.complete], [[11, 12], true]);
    });
  });
}

describe('createHistory (the layer the server wires in)', () => {
  test('memory broker + PostgreSQL: append sequences and stores; recovery and readSince see it', async () => {
    const { config, problems } = parseHistoryConfig({ DATABASE_URL: pg.url, HISTORY_CACHE_SIZE: '2' });
    assert.deepEqual(problems, []);
    const history = createHistory({ config, broker: 'memory' });
    closers.push(() => history.close());
    await history.start();
    assert.equal(history.deliversToNodes, false);
    const topic = newTopic();
    const first = await history.position(topic);
    const sent: SequencedPublication[] = [];
    for (let i = 1; i <= 5; i++) sent.push(await history.append(pub(topic, i)));
    assert.deepEqual(
      sent.map((p) => [p.epoch, p.offset]),
      [1, 2, 3, 4, 5].map((o) => [first.epoch, o]),
    );
    assert.equal(await history.flush(20_000), true);
    const r = await history.recover({ topic, epoch: first.epoch, offset: 0 });
    assert.equal(r.recovered, true);
    assert.deepEqual(r.publications, sent);
    assert.deepEqual((await history.readSince(topic, 3, 10)).publications, sent.slice(3));
  });

  test('redis broker: append delivers through the script, so the caller must not publish again', async () => {
    const { config } = parseHistoryConfig({});
    const history = createHistory({ config, broker: 'redis', redis: { url: redis.url } });
    closers.push(() => history.close());
    await history.start();
    assert.equal(history.deliversToNodes, true);
    const p = await history.append(pub(newTopic(), 1));
    assert.equal(p.offset, 1);
    assert.throws(() => createHistory({ config, broker: 'redis-cluster' }), /needs the redis target/);
  });
});
