// Recovery on rejoin, judged by the OFFICIAL phoenix client with the documented helper
// (server/public/recovery.js): a client that rejoins with its last {epoch, offset} gets every
// missed message in order before any live one (recovered: true), or recovered: false and nothing
// when history cannot fill the gap. Clients that do not opt in see exactly Phoenix's frames.
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
import { openRaw } from '../support/raw-client.js';
import { isExactRange, recoveryClient, type RecoveryClient } from '../support/recovery-client.js';

const auth = { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' };

async function broadcast(node: SwitchboardProcess, topic: string, payload: object, event = 'msg') {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ topic, event, payload }),
  });
  assert.equal(res.status, 202, await res.text());
}

interface Page {
  epoch: string;
  offset: number;
  complete: boolean;
  messages: { offset: number; event: string; payload: { n: number }; publishedAt: string }[];
}

async function history(node: SwitchboardProcess, topic: string, query = ''): Promise<Page> {
  const res = await fetch(`${node.httpUrl}/api/topics/${encodeURIComponent(topic)}/messages${query}`, {
    headers: auth,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Page;
}

/** Publishes n = from..to through the API, one after the other. */
async function publishRange(node: SwitchboardProcess, topic: string, from: number, to: number) {
  for (let n = from; n <= to; n++) await broadcast(node, topic, { n });
}

/** Publishes a steady stream until stopped; returns how many were published. */
function steadyPublisher(node: SwitchboardProcess, topic: string, firstN: number, everyMs = 20) {
  let n = firstN;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      await broadcast(node, topic, { n: n++ });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await done;
      return n - 1;
    },
  };
}

const offsetsOf = (c: RecoveryClient) => c.raw.map((p) => p?.offset ?? -1);
const numbersOf = (c: RecoveryClient) => c.delivered.map((m) => m.payload.n);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The core scenario on any backend: a client joins with recovery, a publisher runs, the client
 * disconnects while messages keep coming, reconnects (publisher still running, so live messages
 * race the recovery), and must end up with every message exactly once and in order, the missed
 * ones recovered (recovered: true) before any live one.
 */
async function rejoinRecoversEverything(
  publishVia: SwitchboardProcess,
  readHistory: SwitchboardProcess,
  clientUrl: string,
  topic: string,
  token: string,
): Promise<void> {
  const client = recoveryClient(clientUrl, token, topic);
  try {
    const first = await client.join();
    assert.equal(first.recovered, true, 'a fresh opt-in is told its starting position');
    assert.equal(first.offset, 0);
    const publisher = steadyPublisher(publishVia, topic, 1);
    await eventually('first messages', () => client.delivered.length >= 10, 20_000);
    client.socket.disconnect();
    const lastSeen = client.position()!.offset;
    // Miss at least 15 messages (and make sure history holds them all).
    await eventually(
      'messages published while disconnected',
      async () => {
        const page = await history(readHistory, topic, `?since=${lastSeen}`);
        return page.offset >= lastSeen + 15 && page.complete;
      },
      20_000,
    );
    client.socket.connect();
    await eventually('the rejoin', () => client.joins.length >= 2, 20_000);
    const rejoin = client.joins[1]!;
    assert.equal(rejoin.recovered, true, `rejoin: ${JSON.stringify(rejoin)}`);
    assert.ok(rejoin.offset! >= lastSeen + 15, 'the reply names the position recovery filled up to');
    await eventually(
      'live messages after the rejoin',
      () => client.delivered.length >= rejoin.offset! + 10,
      20_000,
    );
    const stopped = await publisher.stop();
    // One more message after the stream: the topic is delivered in order, so once it has arrived
    // every frame sent before it (a duplicate included) has arrived too.
    const total = stopped + 1;
    await broadcast(publishVia, topic, { n: total });
    await eventually('the last message', () => client.raw.some((p) => p?.offset === total), 20_000);

    // Every frame as it arrived: exactly offsets 1..total, once each and in order -- so the missed
    // ones (recovered) came before the live ones that raced them, and no duplicate was sent.
    assert.ok(isExactRange(offsetsOf(client), 1, total), `arrivals: ${offsetsOf(client).join(',')}`);
    assert.deepEqual(numbersOf(client), range(1, total));
    assert.equal(client.resets.length, 0);
    assert.equal(client.opens, 2);
  } finally {
    client.socket.disconnect();
  }
}

describe('recovery with the embedded default (memory broker, no DATABASE_URL)', () => {
  let node: SwitchboardProcess;
  let token: string;
  before(async () => {
    node = await startSwitchboard({ LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
    token = await signToken({ sub: 'reader', join: ['room:*'], publish: ['room:*'] });
  });
  after(() => node?.stop());

  test('rejoin after a disconnect gets exactly the missed messages, in order, before any live one', () =>
    rejoinRecoversEverything(node, node, node.socketUrl, 'room:mem-recover', token));

  test('a client that does not opt in sees exactly the Phoenix frames', async () => {
    const plain = await openRaw(node.socketUrl, token);
    const opted = await openRaw(node.socketUrl, token);
    try {
      plain.send(['1', '1', 'room:shape', 'phx_join', {}]);
      opted.send(['1', '1', 'room:shape', 'phx_join', { recover: true }]);
      const plainReply = await plain.waitFor((f) => f[3] === 'phx_reply', 'plain join reply');
      assert.deepEqual(plainReply, ['1', '1', 'room:shape', 'phx_reply', { status: 'ok', response: {} }]);
      const optedReply = await opted.waitFor((f) => f[3] === 'phx_reply', 'opted join reply');
      const response = (optedReply[4] as { response: { epoch: string } }).response;
      assert.deepEqual(optedReply[4], {
        status: 'ok',
        response: { recovered: true, epoch: response.epoch, offset: 0 },
      });
      await broadcast(node, 'room:shape', { hello: 'world' }, 'greet');
      const p = await plain.waitFor((f) => f[3] === 'greet', 'broadcast to the plain client');
      assert.deepEqual(p, [null, null, 'room:shape', 'greet', { hello: 'world' }]);
      const o = await opted.waitFor((f) => f[3] === 'greet', 'broadcast to the opted-in client');
      assert.deepEqual(o, [null, `${response.epoch}:1`, 'room:shape', 'greet', { hello: 'world' }]);
      // The exact bytes Phoenix sends for a broadcast: no extra field anywhere.
      const text = JSON.stringify(p);
      assert.equal(text, '[null,null,"room:shape","greet",{"hello":"world"}]');
    } finally {
      plain.ws.close();
      opted.ws.close();
    }
  });

  test('a bad recover param is refused with a reason that says how to send it', async () => {
    const raw = await openRaw(node.socketUrl, token);
    try {
      raw.send(['1', '1', 'room:bad', 'phx_join', { recover: { epoch: 'x', offset: -1 } }]);
      const reply = await raw.waitFor((f) => f[3] === 'phx_reply', 'join reply');
      const payload = reply[4] as { status: string; response: { reason: string } };
      assert.equal(payload.status, 'error');
      assert.match(payload.response.reason, /recover must be true or \{"epoch"/);
    } finally {
      raw.ws.close();
    }
  });

  test('an unknown epoch is answered recovered: false and nothing is filled', async () => {
    await publishRange(node, 'room:epoch', 1, 3);
    const raw = await openRaw(node.socketUrl, token);
    try {
      raw.send(['1', '1', 'room:epoch', 'phx_join', { recover: { epoch: 'not-the-epoch', offset: 1 } }]);
      const reply = await raw.waitFor((f) => f[3] === 'phx_reply', 'join reply');
      const payload = reply[4] as { response: { recovered: boolean; reason: string; offset: number } };
      assert.equal(payload.response.recovered, false);
      assert.equal(payload.response.reason, 'epoch_changed');
      assert.equal(payload.response.offset, 3);
      await broadcast(node, 'room:epoch', { n: 4 });
      await raw.waitFor((f) => f[3] === 'msg', 'the live message');
      const msgs = raw.frames.filter((f) => Array.isArray(f) && f[3] === 'msg') as unknown[][];
      assert.deepEqual(
        msgs.map((f) => f[4]),
        [{ n: 4 }],
        'only the live message: no partial fill',
      );
    } finally {
      raw.ws.close();
    }
  });

  test('GET /api/topics/:topic/messages: bearer token, validation, pages', async () => {
    await publishRange(node, 'room:api', 1, 5);
    const url = (q: string) => `${node.httpUrl}/api/topics/${encodeURIComponent('room:api')}/messages${q}`;
    assert.equal((await fetch(url(''))).status, 401);
    assert.equal((await fetch(url(''), { headers: { authorization: 'Bearer nope' } })).status, 401);
    for (const q of ['?since=-1', '?since=abc', '?limit=0', '?limit=1001', '?since=1.5']) {
      const res = await fetch(url(q), { headers: auth });
      assert.equal(res.status, 400, q);
      assert.match(
        ((await res.json()) as { error: string }).error,
        /(since|limit)=.* must be a whole number/,
      );
    }
    const all = await history(node, 'room:api');
    assert.equal(all.offset, 5);
    assert.equal(all.complete, true);
    assert.deepEqual(
      all.messages.map((m) => [m.offset, m.event, m.payload.n]),
      range(1, 5).map((n) => [n, 'msg', n]),
    );
    assert.ok(!Number.isNaN(Date.parse(all.messages[0]!.publishedAt)));
    const page = await history(node, 'room:api', '?since=2&limit=2');
    assert.deepEqual(
      page.messages.map((m) => m.offset),
      [3, 4],
    );
    assert.equal(page.complete, true);
    const empty = await history(node, 'room:never-published');
    assert.deepEqual([empty.offset, empty.messages.length, empty.complete], [0, 0, true]);
  });
});

describe('recovery limits with the embedded default', () => {
  test('a restart changes the epoch: the rejoin is told recovered: false (reason epoch_changed)', async () => {
    let node = await startSwitchboard({ LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
    const token = await signToken({ sub: 'reader', join: ['room:*'], publish: ['room:*'] });
    const client = recoveryClient(node.socketUrl, token, 'room:restart-epoch');
    try {
      await client.join();
      await publishRange(node, 'room:restart-epoch', 1, 3);
      await eventually('3 messages', () => client.delivered.length === 3);
      const before = client.position()!;
      await node.stop();
      node = await startSwitchboard({ LOG_LEVEL: 'warn' }, { port: node.port, readyTimeoutMs: 60_000 });
      await eventually('the rejoin', () => client.joins.length >= 2, 30_000);
      const rejoin = client.joins[1]!;
      assert.equal(rejoin.recovered, false);
      assert.equal(rejoin.reason, 'epoch_changed');
      assert.notEqual(rejoin.epoch, before.epoch);
      assert.equal(client.resets.length, 1, 'the helper tells the application to reload');
      await publishRange(node, 'room:restart-epoch', 4, 4);
      await eventually('the next message', () => client.delivered.length === 4);
      assert.deepEqual(client.position(), { epoch: rejoin.epoch, offset: 1 });
    } finally {
      client.socket.disconnect();
      await node.stop();
    }
  });

  test('a gap beyond what history keeps is recovered: false with no partial fill', async () => {
    const node = await startSwitchboard(
      { LOG_LEVEL: 'warn', HISTORY_CACHE_SIZE: '5' },
      { readyTimeoutMs: 60_000 },
    );
    const token = await signToken({ sub: 'reader', join: ['room:*'], publish: ['room:*'] });
    const client = recoveryClient(node.socketUrl, token, 'room:gap');
    try {
      await client.join();
      await publishRange(node, 'room:gap', 1, 3);
      await eventually('3 messages', () => client.delivered.length === 3);
      client.socket.disconnect();
      await publishRange(node, 'room:gap', 4, 15); // 12 missed, the ring keeps 5
      await eventually(
        'history holds offset 15',
        async () => (await history(node, 'room:gap')).offset === 15,
      );
      client.socket.connect();
      await eventually('the rejoin', () => client.joins.length >= 2, 20_000);
      assert.deepEqual(
        {
          recovered: client.joins[1]!.recovered,
          reason: client.joins[1]!.reason,
          offset: client.joins[1]!.offset,
        },
        { recovered: false, reason: 'gap', offset: 15 },
      );
      await publishRange(node, 'room:gap', 16, 17);
      // 17 was sent after 16 and after anything the rejoin sent: once it is here, the frames
      // before it are too.
      await eventually('the live messages', () => client.raw.some((p) => p?.offset === 17));
      assert.deepEqual(
        offsetsOf(client),
        [1, 2, 3, 16, 17],
        'no frame of the 5 cached messages was sent as a partial fill',
      );
      assert.deepEqual(numbersOf(client), [1, 2, 3, 16, 17]);
      assert.equal(client.resets.length, 1);
    } finally {
      client.socket.disconnect();
      await node.stop();
    }
  });
});

describe('recovery across two nodes with Redis and PostgreSQL', () => {
  let redis: RedisServer;
  let pg: PostgresServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  before(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    // A hot cache of 3: most of a gap has to come from PostgreSQL.
    const env = {
      BROKER: 'redis',
      REDIS_URL: redis.url,
      DATABASE_URL: pg.url,
      HISTORY_CACHE_SIZE: '3',
      LOG_LEVEL: 'warn',
    };
    [a, b] = await Promise.all([
      startSwitchboard({ ...env, NODE_ID: 'rec-a' }, { readyTimeoutMs: 60_000 }),
      startSwitchboard({ ...env, NODE_ID: 'rec-b' }, { readyTimeoutMs: 60_000 }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([redis?.stop(), pg?.stop()]);
  });

  test('published on node A, a client of node B rejoins: the gap comes from the hot cache and PostgreSQL, once, in order', async () => {
    const token = await signToken({ sub: 'reader', join: ['room:*'], publish: ['room:*'] });
    await rejoinRecoversEverything(a, b, b.socketUrl, 'room:pg-recover', token);
  });
});
