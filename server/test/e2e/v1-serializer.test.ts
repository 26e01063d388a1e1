// The Phoenix V1 serializer (vsn=1.0.0) judged by the OFFICIAL phoenix client configured for V1
// (vsn plus its documented JSON encode/decode), against real server processes: channels, replies,
// broadcasts between V1 and V2 clients, presence, heartbeats, recovery on rejoin, hostile object
// frames, and two nodes over Redis.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import {
  signToken,
  startNginx,
  startRedis,
  startSwitchboard,
  testSecrets,
  type NginxProxy,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import {
  Presence,
  collect,
  connect,
  eventually,
  join,
  next,
  presentUsers,
  push,
  type Socket,
  within,
} from '../support/phoenix.js';
import { isExactRange, recoveryClient } from '../support/recovery-client.js';
import { upgradeAnswer } from '../support/upgrade.js';

/** What a V1 client passes to the official Socket: V1's object frames are plain JSON. */
const V1: Partial<SocketConnectOption> = {
  vsn: '1.0.0',
  encode: (msg, cb) => cb(JSON.stringify(msg)),
  decode: (raw, cb) => cb(JSON.parse(raw)),
};

const sockets: Socket[] = [];

async function client(
  node: { socketUrl: string },
  sub: string,
  opts: Partial<SocketConnectOption> = V1,
): Promise<Socket> {
  const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
  const socket = await connect(node.socketUrl, { params: { token }, ...opts });
  sockets.push(socket);
  return socket;
}

/** A raw `ws` client on vsn=1.0.0: text frames parsed as JSON objects. */
interface RawV1 {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  send(frame: unknown): void;
  waitFor(pred: (f: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  closed: Promise<number>;
}

/** `vsnQuery` is what precedes the token in the query: `vsn=1.0.0&` or, for no vsn at all, `''`. */
async function openRawV1(node: SwitchboardProcess, token: string, vsnQuery = 'vsn=1.0.0&'): Promise<RawV1> {
  const ws = new WebSocket(`${node.socketUrl}/websocket?${vsnQuery}token=${encodeURIComponent(token)}`);
  const frames: Record<string, unknown>[] = [];
  const texts: string[] = [];
  ws.on('message', (data: Buffer) => {
    texts.push(data.toString('utf8'));
    frames.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await within(10_000, 'raw v1 open', new Promise((resolve) => ws.once('open', resolve)));
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    waitFor: async (pred, what) => (await eventually(what, () => frames.find(pred)))!,
  };
}

async function broadcast(node: SwitchboardProcess, topic: string, payload: object, event = 'msg') {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ topic, event, payload }),
  });
  assert.equal(res.status, 202, await res.text());
}

describe('vsn=1.0.0 on one node (official client configured for V1)', () => {
  let sb: SwitchboardProcess;
  before(async () => {
    sb = await startSwitchboard({ PRESENCE_BATCH_MS: '20', LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await sb?.stop();
  });

  test('join, push with reply, and broadcasts between V1 and V2 clients in both directions', async () => {
    const v1 = (await client(sb, 'alice')).channel('room:mixed', {});
    const v2 = (await client(sb, 'bob', {})).channel('room:mixed', {});
    assert.deepEqual(await join(v1), { status: 'ok', response: {} });
    assert.deepEqual(await join(v2), { status: 'ok', response: {} });

    const atV2 = next<{ body: string }>(v2, 'new_msg');
    const atV1 = next<{ body: string }>(v1, 'new_msg');
    assert.deepEqual(await push(v1, 'new_msg', { body: 'from v1' }), { status: 'ok', response: {} });
    assert.deepEqual(await atV2, { body: 'from v1' });
    assert.deepEqual(await atV1, { body: 'from v1' });

    const back = next<{ body: string }>(v1, 'new_msg');
    await push(v2, 'new_msg', { body: 'from v2' });
    assert.deepEqual(await back, { body: 'from v2' });

    const api = next<{ n: number }>(v1, 'announce');
    await broadcast(sb, 'room:mixed', { n: 1 }, 'announce');
    assert.deepEqual(await api, { n: 1 });
  });

  test('error replies reach the V1 client with their reason', async () => {
    const socket = await client(sb, 'carol');
    const denied = socket.channel('secret:x', {});
    assert.deepEqual(await join(denied), { status: 'error', response: { reason: 'unmatched topic' } });
    const room = socket.channel('room:err', {});
    await join(room);
    assert.deepEqual(await push(room, 'phx_custom', {}), {
      status: 'error',
      response: { reason: 'reserved event' },
    });
  });

  test('leave replies ok, then phx_close closes the channel and deliveries stop', async () => {
    const v1 = (await client(sb, 'dave')).channel('room:leave', {});
    const other = (await client(sb, 'erin', {})).channel('room:leave', {});
    await join(v1);
    await join(other);
    const closed = new Promise<void>((resolve) => v1.onClose(() => resolve()));
    const left = await within(
      10_000,
      'leave reply',
      new Promise<string>((resolve) => v1.leave().receive('ok', () => resolve('ok'))),
    );
    assert.equal(left, 'ok');
    await within(5000, 'phx_close', closed);
    const seen = collect(v1, 'after');
    const atOther = next(other, 'after');
    await push(other, 'after', {});
    await atOther;
    assert.deepEqual(seen, []);
  });

  test('presence: a V1 and a V2 client see each other join and leave', async () => {
    const topic = 'room:presence-v1';
    const aliceSocket = await client(sb, 'alice');
    const a = aliceSocket.channel(topic, {});
    const pa = new Presence(a);
    await join(a);
    await eventually('alice sees herself', () => presentUsers(pa).join() === 'alice');
    const bobSocket = await client(sb, 'bob', {});
    const b = bobSocket.channel(topic, {});
    const pb = new Presence(b);
    await join(b);
    await eventually('alice (V1) sees bob', () => presentUsers(pa).join() === 'alice,bob');
    await eventually('bob (V2) sees alice', () => presentUsers(pb).join() === 'alice,bob');
    aliceSocket.disconnect();
    await eventually('bob sees alice leave', () => presentUsers(pb).join() === 'bob');
  });

  test('heartbeats are answered: the client stays connected across many intervals and measures a ping', async () => {
    const socket = await client(sb, 'hb', { ...V1, heartbeatIntervalMs: 200 });
    let closes = 0;
    socket.onClose(() => {
      closes++;
    });
    let replies = 0;
    socket.onMessage((message: object) => {
      const m = message as { topic?: string; event?: string };
      if (m.topic === 'phoenix' && m.event === 'phx_reply') replies++;
    });
    // 10 heartbeats answered (every 200 ms); an unanswered one would have closed the socket.
    await eventually('10 heartbeat replies', () => replies >= 10, 20_000);
    assert.equal(closes, 0, 'no heartbeat went unanswered');
    assert.equal(socket.isConnected(), true);
    const rtt = await within(
      5000,
      'ping',
      new Promise<number>((resolve) => socket.ping((ms: number) => resolve(ms))),
    );
    assert.ok(rtt >= 0);
  });

  test('raw frames: heartbeat reply, broadcast and phx_close have the V1 shape (no join_ref)', async () => {
    const raw = await openRawV1(sb, await signToken({ sub: 'raw', join: ['room:*'] }));
    try {
      raw.send({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '7' });
      assert.deepEqual(await raw.waitFor((f) => f.ref === '7', 'heartbeat reply'), {
        event: 'phx_reply',
        payload: { status: 'ok', response: {} },
        ref: '7',
        topic: 'phoenix',
      });
      // A binary frame carrying the same JSON is read as JSON, as Phoenix V1 does.
      raw.ws.send(
        Buffer.from(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '8' })),
      );
      await raw.waitFor((f) => f.ref === '8', 'reply to a binary heartbeat');
      raw.send({ topic: 'room:raw', event: 'phx_join', payload: {}, ref: '1', join_ref: '1' });
      await raw.waitFor((f) => f.ref === '1', 'join reply');
      await broadcast(sb, 'room:raw', { hello: 'world' }, 'greet');
      assert.deepEqual(await raw.waitFor((f) => f.event === 'greet', 'broadcast'), {
        event: 'greet',
        payload: { hello: 'world' },
        ref: null,
        topic: 'room:raw',
      });
      raw.send({ topic: 'room:raw', event: 'phx_leave', payload: {}, ref: '2', join_ref: '1' });
      assert.deepEqual(await raw.waitFor((f) => f.event === 'phx_close', 'phx_close'), {
        event: 'phx_close',
        payload: {},
        ref: '1',
        topic: 'room:raw',
      });
    } finally {
      raw.ws.close();
    }
  });

  test('hostile frames close with 1007 (malformed) or 1009 (too large); the node keeps serving', async () => {
    const token = await signToken({ sub: 'hostile', join: ['room:*'] });
    const cases: { frame: string | Buffer; code: number }[] = [
      { frame: JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]), code: 1007 }, // a V2 array
      { frame: '{"topic":"phoenix","event":"heartbeat","payload":{}}', code: 1007 }, // no ref
      { frame: '{"__proto__":{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}}', code: 1007 },
      {
        frame: `{"topic":"t","event":"e","ref":"1","payload":${'['.repeat(5000)}${']'.repeat(5000)}}`,
        code: 1007,
      },
      { frame: '{"topic":"t","event":"e","ref":1,"payload":{}}', code: 1007 },
      { frame: 'null', code: 1007 },
      { frame: Buffer.from([0xff, 0xfe, 0x7b]), code: 1007 }, // binary, not UTF-8
      { frame: `{"topic":"t","event":"e","ref":"1","payload":"${'x'.repeat(70_000)}"}`, code: 1009 },
    ];
    for (const { frame, code } of cases) {
      const raw = await openRawV1(sb, token);
      raw.ws.send(frame);
      assert.equal(await within(5000, `close after ${String(frame).slice(0, 40)}`, raw.closed), code);
    }
    const ok = (await client(sb, 'after-hostile')).channel('room:after', {});
    assert.equal((await join(ok)).status, 'ok');
  });

  test('recovery on rejoin: the V1 client gets exactly the missed messages, in order', async () => {
    const topic = 'room:v1-recover';
    const token = await signToken({ sub: 'reader', join: ['room:*'] });
    const c = recoveryClient(sb.socketUrl, token, topic, V1);
    try {
      assert.equal((await c.join()).recovered, true);
      for (let n = 1; n <= 5; n++) await broadcast(sb, topic, { n });
      await eventually('first messages', () => c.delivered.length === 5);
      c.socket.disconnect();
      for (let n = 6; n <= 20; n++) await broadcast(sb, topic, { n });
      c.socket.connect();
      await eventually('the rejoin', () => c.joins.length >= 2, 20_000);
      assert.equal(c.joins[1]!.recovered, true, JSON.stringify(c.joins[1]));
      await eventually('every message', () => c.delivered.length >= 20, 20_000);
      // One more, live: delivery is in order, so a duplicate sent before it has arrived by then.
      await broadcast(sb, topic, { n: 21 });
      await eventually('the last message', () => c.raw.some((p) => p?.offset === 21), 20_000);
      const offsets = c.raw.map((p) => p?.offset ?? -1);
      assert.ok(isExactRange(offsets, 1, 21), `arrivals: ${offsets.join(',')}`);
      assert.deepEqual(
        c.delivered.map((m) => m.payload.n),
        Array.from({ length: 21 }, (_, i) => i + 1),
      );
    } finally {
      c.socket.disconnect();
    }
  });

  test('unknown vsn values are refused with 400 naming the versions spoken', async () => {
    const token = await signToken({ sub: 'vsn' });
    for (const vsn of ['1.1.0', '3.0.0', 'x']) {
      const { status, body } = await upgradeAnswer(
        `${sb.httpUrl}/socket/websocket?vsn=${encodeURIComponent(vsn)}&token=${token}`,
      );
      assert.equal(status, 400, vsn);
      assert.match(body, /unsupported vsn .*vsn=2\.0\.0.*vsn=1\.0\.0/);
      // LongPoll negotiates the same way (in Phoenix both transports call Socket.__connect__).
      const lp = await fetch(`${sb.httpUrl}/socket/longpoll?vsn=${encodeURIComponent(vsn)}&token=${token}`);
      assert.equal(lp.status, 400, `LongPoll ${vsn}`);
      assert.equal(((await lp.json()) as { error: string }).error, body.trim(), `LongPoll ${vsn}`);
    }
  });

  test('no vsn is V1 on the WebSocket and on LongPoll, as in Phoenix (params["vsn"] || "1.0.0")', async () => {
    const token = await signToken({ sub: 'no-vsn', join: ['room:*'], publish: ['room:*'] });
    const joinFrame = { topic: 'room:no-vsn', event: 'phx_join', payload: {}, ref: '1', join_ref: '1' };
    const joinedReply = {
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
      ref: '1',
      topic: 'room:no-vsn',
    };

    const ws = await openRawV1(sb, token, '');
    try {
      ws.send(joinFrame);
      assert.deepEqual(await ws.waitFor((f) => f.event === 'phx_reply', 'WebSocket join reply'), joinedReply);
    } finally {
      ws.ws.close();
    }

    const lp = `${sb.httpUrl}/socket/longpoll`;
    const opened = (await (await fetch(`${lp}?token=${token}`)).json()) as { status: number; token: string };
    assert.equal(opened.status, 410, 'a LongPoll session was opened');
    const session = `${lp}?token=${encodeURIComponent(opened.token)}`;
    const posted = await fetch(session, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: JSON.stringify(joinFrame),
    });
    assert.equal(((await posted.json()) as { status: number }).status, 200, 'the V1 join was taken');
    const frames: unknown[] = [];
    await eventually(
      'the LongPoll join reply',
      async () => {
        const polled = (await (await fetch(session)).json()) as { status: number; messages: string[] };
        frames.push(...polled.messages.map((m) => JSON.parse(m) as unknown));
        return frames.length > 0;
      },
      15_000,
    );
    assert.deepEqual(frames[0], joinedReply);
  });
});

describe('vsn=1.0.0 across two nodes over Redis, behind round-robin nginx', () => {
  let redis: RedisServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  let nginx: NginxProxy;
  before(async () => {
    redis = await startRedis();
    const env = { BROKER: 'redis', REDIS_URL: redis.url, PRESENCE_BATCH_MS: '20', LOG_LEVEL: 'warn' };
    [a, b] = await Promise.all([
      startSwitchboard({ ...env, NODE_ID: 'node-a' }, { readyTimeoutMs: 60_000 }),
      startSwitchboard({ ...env, NODE_ID: 'node-b' }, { readyTimeoutMs: 60_000 }),
    ]);
    nginx = await startNginx([a.port, b.port]);
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await nginx?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  test('a V1 client on A and a V2 client on B exchange pushes and see each other present', async () => {
    const topic = `room:v1-x-${Math.random().toString(36).slice(2)}`;
    const atA = (await client(a, 'alice')).channel(topic, {});
    const atB = (await client(b, 'bob', {})).channel(topic, {});
    const pa = new Presence(atA);
    const pb = new Presence(atB);
    await join(atA);
    await join(atB);
    await eventually('alice (V1, A) sees bob', () => presentUsers(pa).join() === 'alice,bob');
    await eventually('bob (V2, B) sees alice', () => presentUsers(pb).join() === 'alice,bob');

    const atAFromB = next<{ body: string }>(atA, 'new_msg');
    const atBFromB = next<{ body: string }>(atB, 'new_msg');
    assert.equal((await push(atB, 'new_msg', { body: 'from B' })).status, 'ok');
    assert.deepEqual(await atAFromB, { body: 'from B' });
    assert.deepEqual(await atBFromB, { body: 'from B' });
    const atBFromA = next<{ body: string }>(atB, 'new_msg');
    assert.equal((await push(atA, 'new_msg', { body: 'from A' })).status, 'ok');
    assert.deepEqual(await atBFromA, { body: 'from A' });
  });

  test('through round-robin nginx: V1 clients on both nodes get every push, and recovery fills a gap', async () => {
    const topic = `room:v1-nginx-${Math.random().toString(36).slice(2)}`;
    const channels = [];
    for (const sub of ['v1-a', 'v1-b', 'v1-c', 'v1-d'])
      channels.push((await client(nginx, sub)).channel(topic, {}));
    for (const ch of channels) assert.equal((await join(ch)).status, 'ok');
    const arrivals = channels.map((ch) => next<{ body: string }>(ch, 'new_msg'));
    assert.equal((await push(channels[0]!, 'new_msg', { body: 'hello' })).status, 'ok');
    for (const got of arrivals) assert.deepEqual(await got, { body: 'hello' });

    const token = await signToken({ sub: 'v1-reader', join: ['room:*'] });
    const c = recoveryClient(nginx.socketUrl, token, topic, V1);
    try {
      assert.equal((await c.join()).recovered, true);
      for (let n = 1; n <= 4; n++) await broadcast(n % 2 ? a : b, topic, { n });
      await eventually('first messages', () => c.delivered.length === 4);
      c.socket.disconnect();
      for (let n = 5; n <= 12; n++) await broadcast(n % 2 ? a : b, topic, { n });
      c.socket.connect();
      await eventually('the rejoin', () => c.joins.length >= 2, 20_000);
      assert.equal(c.joins[1]!.recovered, true, JSON.stringify(c.joins[1]));
      await broadcast(a, topic, { n: 13 });
      await eventually('the last message', () => c.delivered.length >= 13, 20_000);
      assert.deepEqual(
        c.delivered.map((m) => m.payload.n),
        Array.from({ length: 13 }, (_, i) => i + 1),
      );
    } finally {
      c.socket.disconnect();
    }
  });
});
