// Contract suite for PresenceTracker: one set of cases, run against MemoryPresence (trackers on one
// MemoryPresenceBus act as nodes), RedisPresence on standalone Redis and on a 3-master Redis Cluster.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { Presence } from 'phoenix';
import type { PresenceDiff, PresenceState, PresenceTracker } from '../../src/presence/presence.js';
import { MemoryPresence, MemoryPresenceBus } from '../../src/presence/memory-presence.js';
import { presenceKeys, RedisPresence } from '../../src/presence/redis-presence.js';
import {
  eventually,
  startClusterBackend,
  startStandaloneBackend,
  uniqueTopic,
  waitFor,
  type RedisBackend,
} from './redis-backends.js';

interface Harness {
  name: string;
  setup(): Promise<void>;
  /** A tracker acting as node `nodeId`; trackers of one harness share state. Not started. */
  make(nodeId: string, opts?: { ttlMs?: number }): PresenceTracker;
  backend?(): RedisBackend;
  teardown(): Promise<void>;
}

function memoryHarness(): Harness {
  let bus = new MemoryPresenceBus();
  return {
    name: 'MemoryPresence',
    async setup() {
      bus = new MemoryPresenceBus();
    },
    make: (nodeId) => new MemoryPresence({ nodeId, bus }),
    async teardown() {},
  };
}

function redisHarness(name: string, start: () => Promise<RedisBackend>): Harness {
  let backend: RedisBackend;
  return {
    name,
    async setup() {
      backend = await start();
    },
    // A TTL of a few seconds keeps the cases short without expiring a node that is merely slow.
    make: (nodeId, opts = {}) =>
      new RedisPresence({
        nodeId,
        redis: backend.target,
        ttlMs: opts.ttlMs ?? 4000,
        connectTimeoutMs: 20_000,
      }),
    backend: () => backend,
    teardown: () => backend.stop(),
  };
}

const harnesses = [
  memoryHarness(),
  redisHarness('RedisPresence (standalone)', startStandaloneBackend),
  redisHarness('RedisPresence (cluster, sharded pub/sub)', startClusterBackend),
];

interface Seen {
  topic: string;
  diff: PresenceDiff;
}

function diffs(tracker: PresenceTracker): Seen[] {
  const seen: Seen[] = [];
  tracker.onDiff((topic, diff) => seen.push({ topic, diff }));
  return seen;
}

/** What a client receives: states and diffs are prototype-free objects, compared as their JSON. */
const wire = <T>(v: T): Record<string, unknown> => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

/** phx_refs per key, sorted: what a user would compare. */
function refs(state: PresenceState): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, { metas }] of Object.entries(state)) out[key] = metas.map((m) => m.phx_ref).sort();
  return { ...out };
}

const joined = (seen: Seen[], ref: string) =>
  seen.some((s) => Object.values(s.diff.joins).some((p) => p.metas.some((m) => m.phx_ref === ref)));
const left = (seen: Seen[], ref: string) =>
  seen.some((s) => Object.values(s.diff.leaves).some((p) => p.metas.some((m) => m.phx_ref === ref)));

for (const h of harnesses) {
  describe(`Presence contract: ${h.name}`, () => {
    const open: PresenceTracker[] = [];
    const node = async (id: string, opts?: { ttlMs?: number }) => {
      const p = h.make(id, opts);
      open.push(p);
      await p.start();
      return p;
    };

    before(() => h.setup());
    after(() => h.teardown());
    afterEach(async () => {
      await Promise.all(open.splice(0).map((p) => p.close()));
    });

    test('track on two nodes, list on either shows both, in the shape Presence.syncState takes', async () => {
      const [a, b] = [await node('a'), await node('b')];
      const topic = uniqueTopic('list');
      await a.track(topic, 'alice', { phx_ref: 'A1', online_at: '1', tags: [] });
      await b.track(topic, 'alice', { phx_ref: 'B1' });
      await b.track(topic, 'bob', { phx_ref: 'B2' });
      for (const n of [a, b]) {
        const state = await n.list(topic);
        assert.deepEqual(refs(state), { alice: ['A1', 'B1'], bob: ['B2'] });
        const metaA1 = state.alice!.metas.find((m) => m.phx_ref === 'A1');
        assert.deepEqual(metaA1, { phx_ref: 'A1', online_at: '1', tags: [] }, 'metas arrive intact');
      }
      assert.deepEqual(wire(await a.list(uniqueTopic('empty'))), {});
    });

    test('user ids that are Object property names are ordinary keys (list and diffs)', async () => {
      const [a, b] = [await node('a'), await node('b')];
      const seenB = diffs(b);
      const topic = uniqueTopic('proto');
      await b.watch(topic);
      const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
      for (const [i, key] of names.entries()) await a.track(topic, key, { phx_ref: `P${i}` });
      for (const n of [a, b]) {
        const state = await n.list(topic);
        assert.deepEqual(Object.keys(state).sort(), [...names].sort());
        assert.deepEqual(wire(state)['__proto__'], { metas: [{ phx_ref: 'P0' }] });
      }
      await waitFor('every join at B', () => names.every((_, i) => joined(seenB, `P${i}`)));
      await a.untrack(topic, '__proto__', 'P0');
      await waitFor('the leave at B', () => left(seenB, 'P0'));
      assert.deepEqual(Object.keys(await b.list(topic)).sort(), names.slice(1).sort());
    });

    test('untrack removes the entry everywhere', async () => {
      const [a, b] = [await node('a'), await node('b')];
      const topic = uniqueTopic('untrack');
      await a.track(topic, 'alice', { phx_ref: 'A1' });
      await a.track(topic, 'alice', { phx_ref: 'A2' });
      await a.untrack(topic, 'alice', 'A1');
      await a.untrack(topic, 'alice', 'nope'); // unknown ref: no-op
      assert.deepEqual(refs(await b.list(topic)), { alice: ['A2'] });
      await a.untrack(topic, 'alice', 'A2');
      assert.deepEqual(wire(await b.list(topic)), {});
    });

    test('watchers on every node get joins and leaves, including their own', async () => {
      const [a, b] = [await node('a'), await node('b')];
      const [seenA, seenB] = [diffs(a), diffs(b)];
      const topic = uniqueTopic('diff');
      await a.watch(topic);
      await b.watch(topic);
      await a.track(topic, 'alice', { phx_ref: 'A1', status: 'here' });
      await waitFor('join at B', () => joined(seenB, 'A1'));
      await waitFor('join at A (own)', () => joined(seenA, 'A1'));
      const join = seenB.find((s) => joined([s], 'A1'))!;
      assert.equal(join.topic, topic);
      assert.deepEqual(wire(join.diff), {
        joins: { alice: { metas: [{ phx_ref: 'A1', status: 'here' }] } },
        leaves: {},
      });
      await a.untrack(topic, 'alice', 'A1');
      await waitFor('leave at B', () => left(seenB, 'A1'));
      await waitFor('leave at A (own)', () => left(seenA, 'A1'));
    });

    test('diffs stop after unwatch and are not delivered for unwatched topics', async () => {
      const [a, b] = [await node('a'), await node('b')];
      const seenA = diffs(a);
      const topic = uniqueTopic('unwatch');
      await b.track(topic, 'u', { phx_ref: 'never-watched' });
      await a.watch(topic);
      await b.track(topic, 'u', { phx_ref: 'watched' });
      await waitFor('diff while watching', () => joined(seenA, 'watched'));
      await a.unwatch(topic);
      await b.track(topic, 'u', { phx_ref: 'after-unwatch' });
      // Watching again and waiting for a later diff proves the earlier one was not delivered:
      // diffs of one topic keep their order.
      await a.watch(topic);
      await b.track(topic, 'u', { phx_ref: 'rewatched' });
      await waitFor('diff after watching again', () => joined(seenA, 'rewatched'));
      assert.ok(!joined(seenA, 'never-watched'));
      assert.ok(!joined(seenA, 'after-unwatch'));
      assert.deepEqual(refs(await a.list(topic)), {
        u: ['after-unwatch', 'never-watched', 'rewatched', 'watched'],
      });
    });

    test('a node that stops without untracking disappears from the others (leave diff)', async () => {
      const a = await node('a', { ttlMs: 1500 });
      const b = await node('b', { ttlMs: 1500 });
      const seenA = diffs(a);
      const topic = uniqueTopic('expire');
      await a.watch(topic);
      await a.track(topic, 'alice', { phx_ref: 'A1' });
      await b.track(topic, 'bob', { phx_ref: 'B1' });
      await waitFor('B’s join at A', () => joined(seenA, 'B1'));
      const closedAt = Date.now();
      await b.close(); // no untrack: like a crash, its entries must expire
      // The documented bound, ttl + one sweep (ttl / 3), plus 5 s for the diff to arrive on a loaded
      // machine: a tracker that ignored ttlMs (default 15 s) takes 15 to 20 s and fails.
      const boundMs = 1500 + 500 + 5000;
      await waitFor('B’s leave at A', () => left(seenA, 'B1'), boundMs - (Date.now() - closedAt));
      assert.deepEqual(refs(await a.list(topic)), { alice: ['A1'] });
      assert.ok(!left(seenA, 'A1'), 'a live node keeps its entries past the TTL');
    });

    test('after the store crashes and loses its data, live nodes write their entries back', async (t) => {
      if (!h.backend) return t.skip('nothing to crash: memory presence lives in the process');
      const a = await node('a', { ttlMs: 1500 });
      const b = await node('b', { ttlMs: 1500 });
      const topic = uniqueTopic('crash');
      await b.watch(topic);
      await a.track(topic, 'alice', { phx_ref: 'A1' });
      await b.track(topic, 'bob', { phx_ref: 'B1' });
      // What a client on B sees: presence_state, then every diff, through the official client code.
      let view: PresenceState = Presence.syncState({}, await b.list(topic));
      b.onDiff((_, diff) => (view = Presence.syncDiff(view, diff)));

      const restart = await h.backend().crash(presenceKeys(topic).entries);
      await waitFor('A to notice', () => !(a as RedisPresence).isConnected());
      // A change made while Redis is away is kept and written once it is back.
      await assert.rejects(a.track(topic, 'alice', { phx_ref: 'A2' }));
      await restart();
      const want = { alice: ['A1', 'A2'], bob: ['B1'] };
      await eventually('the lost entries to be written back', async () =>
        isDeepStrictEqual(refs(await b.list(topic).catch(() => ({}))), want),
      );
      await waitFor('the client on B to see the same', () => isDeepStrictEqual(refs(view), want));
    });
  });
}
