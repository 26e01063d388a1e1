// The documented answers of recovery and the history API when something fails or is unusual
// (docs/recovery.md, docs/history.md), against real server processes with real Redis and
// PostgreSQL: recovery `unavailable` (sequencer or PostgreSQL unreachable), the history API's 503,
// `complete: false` and `binary: true`, binary pushes from a node to the clients of another, and
// `phx_error` after a broker reconnect sent only to the channels joined with recovery.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startPostgres,
  startRedis,
  startSwitchboard,
  testSecrets,
  type PostgresServer,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const auth = { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' };

async function broadcast(node: SwitchboardProcess, topic: string, n: number): Promise<void> {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ topic, event: 'msg', payload: { n } }),
  });
  assert.equal(res.status, 202, await res.text());
}

async function publishRange(node: SwitchboardProcess, topic: string, from: number, to: number) {
  for (let n = from; n <= to; n++) await broadcast(node, topic, n);
}

interface Page {
  epoch: string;
  offset: number;
  complete: boolean;
  messages: { offset: number; event: string; payload: unknown; binary?: boolean; publishedAt: string }[];
}

/** GET /api/topics/:topic/messages: the status and the parsed body. */
async function history(
  node: SwitchboardProcess,
  topic: string,
  query = '',
): Promise<{ status: number; body: Page & { error?: string } }> {
  const res = await fetch(`${node.httpUrl}/api/topics/${encodeURIComponent(topic)}/messages${query}`, {
    headers: auth,
  });
  return { status: res.status, body: (await res.json()) as Page & { error?: string } };
}

async function readyz(node: SwitchboardProcess): Promise<number> {
  return fetch(`${node.metricsUrl}/readyz`).then(
    (r) => r.status,
    () => 0,
  );
}

/** Joins `topic` on a raw V2 socket with `params`; resolves with the reply's payload. */
async function rawJoin(c: RawClient, topic: string, params: object, joinRef = '1') {
  c.send([joinRef, joinRef, topic, 'phx_join', params]);
  const reply = await c.waitFor(
    (f) => f[0] === joinRef && f[1] === joinRef && f[2] === topic && f[3] === 'phx_reply',
    `join reply of ${topic}`,
    20_000,
  );
  return reply[4] as { status: string; response: Record<string, unknown> };
}

/** A V2 binary client push (kind 0): header lengths, then join_ref, ref, topic, event, payload. */
function binaryPush(joinRef: string, ref: string, topic: string, event: string, payload: Buffer): Buffer {
  const head = [joinRef, ref, topic, event].map((s) => Buffer.from(s));
  return Buffer.concat([Buffer.from([0, ...head.map((b) => b.length)]), ...head, payload]);
}

/** A V2 binary broadcast (kind 2) as the server must send it: topic, event, payload. */
function binaryBroadcast(topic: string, event: string, payload: Buffer): Buffer {
  const t = Buffer.from(topic);
  const e = Buffer.from(event);
  return Buffer.concat([Buffer.from([2, t.length, e.length]), t, e, payload]);
}

const isPhxError = (f: unknown[]) => f[3] === 'phx_error';

describe('Redis unreachable: recovery answers unavailable, the history API 503', () => {
  let redis: RedisServer;
  let node: SwitchboardProcess;
  before(async () => {
    redis = await startRedis();
    node = await startSwitchboard(
      { BROKER: 'redis', REDIS_URL: redis.url, NODE_ID: 'unavail-redis', LOG_LEVEL: 'info' },
      { readyTimeoutMs: 60_000 },
    );
  });
  after(async () => {
    await node?.kill(); // Redis is down: a graceful stop is not what this file tests
    await redis?.stop();
  });

  test('a rejoin with a position is answered recovered: false, reason unavailable, without epoch/offset', async () => {
    const topic = 'room:unavail-redis';
    const token = await signToken({ sub: 'reader', join: ['room:*'] });
    // A channel already on the topic keeps the node subscribed, so a join during the outage needs
    // no broker subscription (a first join of a topic is refused then) and reaches recovery.
    const [present, c] = await Promise.all([openRaw(node.socketUrl, token), openRaw(node.socketUrl, token)]);
    try {
      assert.equal((await rawJoin(present, topic, {})).status, 'ok');
      await publishRange(node, topic, 1, 3);
      const before = await history(node, topic);
      assert.equal(before.status, 200, 'the history API answers while Redis is up');
      assert.equal(before.body.offset, 3);

      await redis.kill();
      await eventually('not ready', async () => (await readyz(node)) === 503, 20_000);
      const down = await history(node, topic);
      assert.equal(down.status, 503, JSON.stringify(down.body));
      assert.match(down.body.error!, /^history is unavailable right now \(.+\); retry later$/);

      const reply = await rawJoin(c, topic, { recover: { epoch: before.body.epoch, offset: 1 } });
      assert.deepEqual(reply, { status: 'ok', response: { recovered: false, reason: 'unavailable' } });
      // The log line is written beside the reply, not before it: wait for it (bounded).
      await eventually('the unavailable recovery logged', () =>
        /recovery unavailable: answering recovered=false/.test(node.output()),
      );
    } finally {
      present.ws.close();
      c.ws.close();
    }
  });
});

describe('PostgreSQL unreachable: recovery answers unavailable, the history API 503', () => {
  let pg: PostgresServer;
  let node: SwitchboardProcess;
  before(async () => {
    pg = await startPostgres();
    node = await startSwitchboard(
      { DATABASE_URL: pg.url, HISTORY_CACHE_SIZE: '3', HISTORY_FLUSH_MS: '20', LOG_LEVEL: 'info' },
      { readyTimeoutMs: 60_000 },
    );
  });
  after(async () => {
    await node?.kill(); // a drain would wait for history writes PostgreSQL never takes
    await pg?.stop();
  });

  test('a gap that needs PostgreSQL is recovered: false (unavailable) with the position; the API 503', async () => {
    const topic = 'room:unavail-pg';
    const token = await signToken({ sub: 'reader', join: ['room:*'] });
    await publishRange(node, topic, 1, 8);
    // The ring holds 6..8: a complete page from 0 proves 1..5 are in PostgreSQL.
    const stored = await eventually(
      '1..8 readable, the older ones from PostgreSQL',
      async () => {
        const page = await history(node, topic);
        return page.status === 200 && page.body.complete && page.body.messages.length === 8
          ? page
          : undefined;
      },
      20_000,
    );

    await pg.kill();
    const down = await history(node, topic);
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.match(down.body.error!, /^history is unavailable right now \(.+\); retry later$/);

    const c = await openRaw(node.socketUrl, token);
    try {
      const reply = await rawJoin(c, topic, { recover: { epoch: stored.body.epoch, offset: 1 } });
      assert.deepEqual(reply, {
        status: 'ok',
        response: { recovered: false, epoch: stored.body.epoch, offset: 8, reason: 'unavailable' },
      });
      // Nothing of the gap follows: the next message is the live one.
      await broadcast(node, topic, 9);
      const live = await c.waitFor((f) => f[3] === 'msg', 'the live message');
      assert.deepEqual(live[4], { n: 9 });
      assert.deepEqual(
        c.frames.filter((f) => Array.isArray(f) && f[3] === 'msg').map((f) => (f as unknown[])[4]),
        [{ n: 9 }],
      );
    } finally {
      c.ws.close();
    }
  });
});

describe('the history API over HTTP: complete: false and binary: true (embedded default)', () => {
  let node: SwitchboardProcess;
  before(async () => {
    node = await startSwitchboard({ HISTORY_CACHE_SIZE: '5', LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
  });
  after(() => node?.stop());

  test('a page that does not run from since + 1 says complete: false and returns what exists', async () => {
    const topic = 'room:holes';
    await publishRange(node, topic, 1, 8); // the ring keeps 4..8
    const whole = await history(node, topic);
    assert.equal(whole.status, 200);
    assert.equal(whole.body.offset, 8);
    assert.equal(whole.body.complete, false, 'offsets 1..3 are gone');
    assert.deepEqual(
      whole.body.messages.map((m) => [m.offset, m.payload]),
      [4, 5, 6, 7, 8].map((n) => [n, { n }]),
    );
    const from3 = await history(node, topic, '?since=3');
    assert.equal(from3.body.complete, true, 'from since=3 nothing is missing');
    assert.equal(from3.body.messages.length, 5);
    const page = await history(node, topic, '?since=3&limit=2');
    assert.deepEqual([page.body.complete, page.body.messages.map((m) => m.offset)], [true, [4, 5]]);
  });

  test('a binary push is in history as base64 with binary: true', async () => {
    const topic = 'room:bin-http';
    const token = await signToken({ sub: 'pusher', join: ['room:*'], publish: ['room:*'] });
    const c = await openRaw(node.socketUrl, token);
    try {
      assert.equal((await rawJoin(c, topic, {})).status, 'ok');
      const bytes = Buffer.from([0, 1, 2, 0xff]);
      c.ws.send(binaryPush('1', '2', topic, 'blob', bytes), { binary: true });
      const reply = await c.waitFor((f) => f[1] === '2' && f[3] === 'phx_reply', 'push reply');
      assert.deepEqual(reply[4], { status: 'ok', response: {} });
      await broadcast(node, topic, 2); // a JSON one after it, for contrast
      const page = await eventually('both in history', async () => {
        const p = await history(node, topic);
        return p.body.offset === 2 ? p : undefined;
      });
      assert.equal(page.body.complete, true);
      const [bin, json] = page.body.messages;
      assert.deepEqual(
        { offset: bin!.offset, event: bin!.event, payload: bin!.payload, binary: bin!.binary },
        { offset: 1, event: 'blob', payload: bytes.toString('base64'), binary: true },
      );
      assert.ok(!Number.isNaN(Date.parse(bin!.publishedAt)));
      assert.equal('binary' in json!, false, 'a JSON publication has no binary field');
      assert.deepEqual(json!.payload, { n: 2 });
    } finally {
      c.ws.close();
    }
  });
});

describe('two nodes with Redis: binary pushes cross nodes; phx_error only for recovery after a broker reconnect', () => {
  let redis: RedisServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  before(async () => {
    redis = await startRedis();
    const env = { BROKER: 'redis', REDIS_URL: redis.url, LOG_LEVEL: 'info' };
    [a, b] = await Promise.all([
      startSwitchboard({ ...env, NODE_ID: 'bin-a' }, { readyTimeoutMs: 60_000 }),
      startSwitchboard({ ...env, NODE_ID: 'bin-b' }, { readyTimeoutMs: 60_000 }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  test('a binary push on node A reaches a client of node B as the same binary broadcast frame', async () => {
    const topic = 'room:bin-cross';
    const token = await signToken({ sub: 'bin', join: ['room:*'], publish: ['room:*'] });
    const [pusher, plain, opted] = await Promise.all([
      openRaw(a.socketUrl, token),
      openRaw(b.socketUrl, token),
      openRaw(b.socketUrl, token),
    ]);
    try {
      assert.equal((await rawJoin(pusher, topic, {})).status, 'ok');
      assert.equal((await rawJoin(plain, topic, {})).status, 'ok');
      assert.equal((await rawJoin(opted, topic, { recover: true })).status, 'ok');
      // Cross-node subscriptions are live once a JSON message published on A arrives on B.
      await eventually(
        'B subscribed to A',
        async () => {
          await broadcast(a, topic, 0);
          return plain.frames.some((f) => Array.isArray(f) && f[3] === 'msg');
        },
        20_000,
      );
      const bytes = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]);
      pusher.ws.send(binaryPush('1', '2', topic, 'blob', bytes), { binary: true });
      const expected = binaryBroadcast(topic, 'blob', bytes);
      assert.deepEqual(await plain.waitForBinary('binary broadcast on B'), expected);
      assert.deepEqual(
        await opted.waitForBinary('binary broadcast on B, recovery join'),
        expected,
        'an opted-in join gets the same frame (binary frames have no ref slot)',
      );
      assert.deepEqual(await pusher.waitForBinary('binary broadcast on A'), expected);
    } finally {
      for (const c of [pusher, plain, opted]) c.ws.close();
    }
  });

  test('after Redis comes back, phx_error goes to the channels joined with recovery and to no other', async () => {
    const topic = 'room:resync';
    const token = await signToken({ sub: 'resync', join: ['room:*'] });
    const [recovering, plain] = await Promise.all([openRaw(a.socketUrl, token), openRaw(a.socketUrl, token)]);
    try {
      assert.equal((await rawJoin(recovering, topic, { recover: true }, '7')).status, 'ok');
      assert.equal((await rawJoin(plain, topic, {}, '7')).status, 'ok');
      await redis.kill();
      await eventually('not ready', async () => (await readyz(a)) === 503, 20_000);
      await redis.restart();
      await eventually('ready again', async () => (await readyz(a)) === 200, 30_000);

      const error = await recovering.waitFor(isPhxError, 'phx_error on the recovery join', 20_000);
      assert.deepEqual(error, ['7', '7', topic, 'phx_error', {}]);
      // Positive control: the plain channel is live and got everything sent to it since; a
      // phx_error for it would have been sent before this broadcast.
      const first = await eventually(
        'a broadcast after the reconnect (or a phx_error) on the plain channel',
        async () => {
          const seen = plain.frames.find(
            (f): f is unknown[] => Array.isArray(f) && (f[3] === 'msg' || isPhxError(f)),
          );
          if (!seen) await broadcast(a, topic, 1);
          return seen;
        },
        20_000,
      );
      assert.equal(first?.[3], 'msg', `the plain channel got ${JSON.stringify(first)}`);
      assert.deepEqual(
        plain.frames.filter((f) => Array.isArray(f) && isPhxError(f)),
        [],
        'no phx_error for the channel without recovery',
      );
      assert.match(a.output(), /"channels":1,.*broker back: channels with recovery told to rejoin/);
    } finally {
      recovering.ws.close();
      plain.ws.close();
    }
  });
});
