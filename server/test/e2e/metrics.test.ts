// /metrics of two real server processes over Redis, driven by real clients: the counters move by
// exactly what the clients did (upgrades, joins by result, messages by kind, publishes by source,
// cross-node delivery latency, broker publish latency, recoveries, disconnects by close code), the
// process metrics are there, and no label value is a topic name or a user id.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startRedis,
  startSwitchboard,
  testSecrets,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, eventually, join, next, push, type Channel, type Socket } from '../support/phoenix.js';
import { openRaw } from '../support/raw-client.js';
import { upgradeStatus } from '../support/upgrade.js';
import { topicChannel } from '../../src/store/publication-codec.js';

/** One scrape: `name{a="x",b="y"}` (labels sorted) -> value, plus every label set seen. */
interface Scrape {
  values: Map<string, number>;
  labels: { metric: string; labels: Record<string, string> }[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

async function scrape(sb: SwitchboardProcess): Promise<Scrape> {
  const res = await fetch(`${sb.metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  const values = new Map<string, number>();
  const labels: Scrape['labels'] = [];
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const pairs: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) pairs[k!] = v!;
    labels.push({ metric: m[1]!, labels: pairs });
    values.set(key(m[1]!, pairs), Number(m[3]));
  }
  return { values, labels };
}

function key(name: string, labels: Record<string, string> = {}): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',');
  return inner ? `${name}{${inner}}` : name;
}

/** How much each named series moved between two scrapes (absent counts as 0). */
function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  const k = key(name, labels);
  return (after.values.get(k) ?? 0) - (before.values.get(k) ?? 0);
}

/**
 * The bounded label values of every switchboard_* metric, read from the table in
 * docs/observability.md (the documented catalogue; observability-docs.test.ts checks every metric
 * has a row): metric -> label -> allowed values. `1xx..5xx` is a range; histograms add `le`.
 */
function documentedLabels(): Map<string, Map<string, Set<string>>> {
  const doc = readFileSync(new URL('../../../docs/observability.md', import.meta.url), 'utf8');
  const table = new Map<string, Map<string, Set<string>>>();
  for (const row of doc.matchAll(/^\| `(switchboard_[a-z_]+)` +\| [a-z]+ +\| ([^|]*)\|/gm)) {
    const labels = new Map<string, Set<string>>();
    for (const part of row[2]!.split(';')) {
      const m = /`([a-z_]+)`: (.*)$/.exec(part.trim());
      if (!m) continue;
      const values = m[2]!.replace(/\(.*?\)/g, '').trim();
      const range = /^(\d)xx\.\.(\d)xx$/.exec(values);
      const list = range
        ? Array.from(
            { length: Number(range[2]) - Number(range[1]) + 1 },
            (_, i) => `${Number(range[1]) + i}xx`,
          )
        : values.split(',').map((v) => v.trim());
      labels.set(m[1]!, new Set(list));
    }
    table.set(row[1]!, labels);
  }
  return table;
}

describe('metrics: two nodes over Redis, driven by real clients', () => {
  let redis: RedisServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  const sockets: Socket[] = [];
  const run = Math.random().toString(36).slice(2, 10);
  const topic = `room:metrics-${run}`;
  const users = { alice: `alice-${run}`, bob: `bob-${run}`, carol: `carol-${run}` };

  const startNode = (nodeId: string) =>
    startSwitchboard(
      { BROKER: 'redis', REDIS_URL: redis.url, NODE_ID: nodeId, LOG_LEVEL: 'warn', DRAIN_WINDOW_MS: '500' },
      { readyTimeoutMs: 60_000 },
    );
  const client = async (node: SwitchboardProcess, sub: string) => {
    const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
    const socket = await connect(node.socketUrl, { params: { token } });
    sockets.push(socket);
    return socket;
  };

  before(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startNode('metrics-a'), startNode('metrics-b')]);
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  test('counters move by what the clients did, across both nodes', async () => {
    const a0 = await scrape(a);
    const b0 = await scrape(b);

    // Upgrades on A: one refused (bad token), two accepted.
    assert.equal(await upgradeStatus(`${a.httpUrl}/socket/websocket?vsn=2.0.0&token=nonsense`), 401);
    const alice = await client(a, users.alice);
    // A raw client for the refused joins: the phoenix client would retry them on its own.
    const carol = await openRaw(a.socketUrl, await signToken({ sub: users.carol, join: ['lobby:*'] }));
    const bob = await client(b, users.bob);

    // Joins on A: ok, unauthorized (room:* route, but carol may not join rooms), unmatched.
    const atA: Channel = alice.channel(topic, {});
    assert.equal((await join(atA)).status, 'ok');
    carol.send(['1', '1', topic, 'phx_join', {}]);
    carol.send(['2', '2', `elsewhere:${run}`, 'phx_join', {}]);
    for (const ref of ['1', '2']) {
      const reply = await carol.waitFor((f) => f[1] === ref, `carol's join reply ${ref}`);
      assert.equal((reply[4] as { status: string }).status, 'error');
    }
    const atB: Channel = bob.channel(topic, {});
    assert.equal((await join(atB)).status, 'ok');

    // Three pushes on A and one API broadcast on B, each received on both nodes.
    const seenAtB: unknown[] = [];
    atB.on('new_msg', (p: unknown) => {
      seenAtB.push(p);
    });
    atB.on('announcement', (p: unknown) => {
      seenAtB.push(p);
    });
    for (let i = 0; i < 3; i++) assert.equal((await push(atA, 'new_msg', { i })).status, 'ok');
    const announced = next(atA, 'announcement');
    const res = await fetch(`${b.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic, event: 'announcement', payload: { from: 'api' } }),
    });
    assert.equal(res.status, 202);
    await announced;
    await eventually('four messages at B', () => seenAtB.length === 4);

    const a1 = await scrape(a);
    const b1 = await scrape(b);
    assert.equal(delta(a0, a1, 'switchboard_connections_opened_total', { result: 'unauthorized' }), 1);
    assert.equal(delta(a0, a1, 'switchboard_connections_opened_total', { result: 'accepted' }), 2);
    assert.equal(delta(a0, a1, 'switchboard_connections'), 2);
    assert.equal(delta(b0, b1, 'switchboard_connections'), 1);
    assert.equal(delta(a0, a1, 'switchboard_joins_total', { result: 'ok' }), 1);
    assert.equal(delta(a0, a1, 'switchboard_joins_total', { result: 'unauthorized' }), 1);
    assert.equal(delta(a0, a1, 'switchboard_joins_total', { result: 'unmatched' }), 1);
    assert.equal(delta(b0, b1, 'switchboard_joins_total', { result: 'ok' }), 1);
    assert.equal(delta(a0, a1, 'switchboard_messages_received_total', { kind: 'join' }), 3);
    assert.equal(delta(a0, a1, 'switchboard_messages_received_total', { kind: 'push' }), 3);
    assert.equal(delta(a0, a1, 'switchboard_publishes_total', { source: 'client' }), 3);
    assert.equal(delta(b0, b1, 'switchboard_publishes_total', { source: 'api' }), 1);
    // Each node fans the four publications out to its one subscriber.
    assert.equal(delta(a0, a1, 'switchboard_messages_sent_total', { kind: 'broadcast' }), 4);
    assert.equal(delta(b0, b1, 'switchboard_messages_sent_total', { kind: 'broadcast' }), 4);
    // Replies on A: 3 joins + 3 pushes (heartbeat replies may add more).
    assert.ok(delta(a0, a1, 'switchboard_messages_sent_total', { kind: 'reply' }) >= 6);
    // Publish-to-delivery latency: one observation per publication per delivering node, including
    // the three pushes B received from A and the API broadcast A received from B.
    assert.equal(delta(a0, a1, 'switchboard_delivery_latency_seconds_count'), 4);
    assert.equal(delta(b0, b1, 'switchboard_delivery_latency_seconds_count'), 4);
    assert.ok(delta(b0, b1, 'switchboard_delivery_latency_seconds_sum') >= 0);
    assert.equal(delta(a0, a1, 'switchboard_broker_publish_duration_seconds_count'), 3);
    assert.equal(delta(b0, b1, 'switchboard_broker_publish_duration_seconds_count'), 1);
    assert.equal(
      delta(b0, b1, 'switchboard_http_requests_total', { route: 'broadcast', status_class: '2xx' }),
      1,
    );

    // Recovery outcomes: resuming from the real epoch recovers, from an unknown one does not.
    const fresh = await join(bob.channel(topic, { recover: true }));
    assert.equal(fresh.status, 'ok');
    const { epoch } = fresh.response as { epoch: string };
    const b2 = await scrape(b);
    const resumed = await join(bob.channel(topic, { recover: { epoch, offset: 1 } }));
    assert.equal((resumed.response as { recovered: boolean }).recovered, true);
    const lost = await join(bob.channel(topic, { recover: { epoch: 'gone-epoch', offset: 1 } }));
    assert.equal((lost.response as { recovered: boolean }).recovered, false);
    const b3 = await scrape(b);
    assert.equal(delta(b2, b3, 'switchboard_recoveries_total', { outcome: 'recovered' }), 1);
    assert.equal(delta(b2, b3, 'switchboard_recoveries_total', { outcome: 'not_recovered' }), 1);

    // Disconnects by close code: a malformed frame (1007) and a client closing normally (1000).
    const raw = await openRaw(a.socketUrl, await signToken({ sub: users.carol, join: ['room:*'] }));
    raw.ws.send('not a phoenix frame');
    assert.equal((await raw.closed).code, 1007);
    alice.disconnect(undefined, 1000);
    await eventually('A counts both disconnects', async () => {
      const now = await scrape(a);
      return (
        delta(a1, now, 'switchboard_disconnects_total', { code: '1007' }) === 1 &&
        delta(a1, now, 'switchboard_disconnects_total', { code: '1000' }) === 1 &&
        delta(a0, now, 'switchboard_connections') === 1 // carol is still there
      );
    });
    const a2 = await scrape(a);
    assert.equal(delta(a1, a2, 'switchboard_frames_rejected_total', { reason: 'malformed' }), 1);
    assert.equal(delta(a1, a2, 'switchboard_messages_received_total', { kind: 'invalid' }), 1);
  });

  test('every listed metric is exported, with process and event-loop metrics', async () => {
    const { values } = await scrape(a);
    const names = new Set([...values.keys()].map((k) => k.replace(/\{.*$/, '')));
    for (const name of [
      'switchboard_connections',
      'switchboard_connections_opened_total',
      'switchboard_joins_total',
      'switchboard_messages_received_total',
      'switchboard_messages_sent_total',
      'switchboard_publishes_total',
      'switchboard_delivery_latency_seconds_bucket',
      'switchboard_disconnects_total',
      'switchboard_slow_consumer_closes_total',
      'switchboard_broker_publish_duration_seconds_count',
      'switchboard_history_write_duration_seconds_count',
      'switchboard_history_queue_depth',
      'switchboard_history_dropped_total',
      'switchboard_draining',
      'switchboard_drain_connections_remaining',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(names.has(name), `${name} is not exported`);
    }
    assert.equal(values.get('switchboard_draining'), 0);
  });

  test('no label value is a topic name or a user id; switchboard labels stay in their documented sets', async () => {
    // Its own traffic, so it does not depend on the tests before it: a refused upgrade, a join, a
    // refused join, pushes, an API broadcast, a 404, a malformed frame, a recovery, and a message on
    // the topic's Redis channel that is not a publication (broker errors op="decode").
    const labelTopic = `room:labels-${run}`;
    const a0 = await scrape(a);
    assert.equal(await upgradeStatus(`${a.httpUrl}/socket/websocket?vsn=2.0.0&token=nonsense`), 401);
    const dave = await client(a, `dave-${run}`);
    const atA = dave.channel(labelTopic, { recover: true });
    assert.equal((await join(atA)).status, 'ok');
    assert.equal((await join(dave.channel(`elsewhere:${run}`, {}))).status, 'error');
    assert.equal((await push(atA, 'new_msg', { i: 1 })).status, 'ok');
    const res = await fetch(`${b.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic: labelTopic, event: 'announcement', payload: {} }),
    });
    assert.equal(res.status, 202);
    assert.equal((await fetch(`${a.httpUrl}/no-such-path-${run}`)).status, 404);
    const raw = await openRaw(a.socketUrl, await signToken({ sub: `erin-${run}`, join: ['room:*'] }));
    raw.ws.send('not a phoenix frame');
    assert.equal((await raw.closed).code, 1007);
    const publisher = new Redis(redis.url);
    try {
      await publisher.publish(topicChannel(labelTopic), 'not a publication');
    } finally {
      publisher.disconnect();
    }
    await eventually('A counts the undecodable message', async () => {
      const now = await scrape(a);
      return delta(a0, now, 'switchboard_broker_errors_total', { op: 'decode' }) === 1;
    });

    const documented = documentedLabels();
    const seen = new Set<string>();
    for (const node of [a, b]) {
      const { labels } = await scrape(node);
      for (const { metric, labels: pairs } of labels) {
        const base = metric.replace(/_(bucket|sum|count)$/, '');
        const allowed = documented.get(documented.has(metric) ? metric : base);
        for (const [name, value] of Object.entries(pairs)) {
          assert.ok(!value.includes(run), `${metric}{${name}="${value}"} holds a topic or user id`);
          if (!metric.startsWith('switchboard_')) continue;
          assert.ok(allowed, `${metric} has no row in docs/observability.md`);
          if (name === 'le' && metric.endsWith('_bucket')) {
            assert.match(value, /^([0-9.e+-]+|\+Inf)$/, `${metric}{le="${value}"}`);
            continue;
          }
          const values = allowed.get(name);
          assert.ok(values, `${metric} has an undocumented label ${name}`);
          // `*`: a build's name (switchboard_build_info), one value per process, bounded by the config's check.
          const free = values.has('*') && /^[\w.+-]{1,64}$/.test(value);
          assert.ok(free || values.has(value), `${metric}{${name}="${value}"} is outside the documented set`);
          seen.add(`${base}{${name}="${value}"}`);
        }
      }
    }
    assert.ok(seen.has('switchboard_broker_errors_total{op="decode"}'));
    assert.ok(seen.has('switchboard_http_requests_total{route="other"}'));
  });
});
