// The control API (docs/api.md) on three real nodes over real Redis, seen by OFFICIAL phoenix
// clients: counts and presence over every node, a user taken out of a topic or disconnected on
// every node, a node that dies makes a census say so. Every request and answer is checked against
// docs/api.openapi.yaml.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  signToken,
  startRedis,
  startSwitchboard,
  testSecrets,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { assertRequest, assertResponse } from '../support/openapi.js';
import { connect, eventually, join, next, within, type Channel, type Socket } from '../support/phoenix.js';

let redis: RedisServer;
let a: SwitchboardProcess;
let b: SwitchboardProcess;
let c: SwitchboardProcess;
const sockets: Socket[] = [];

const startNode = (nodeId: string) =>
  startSwitchboard(
    { BROKER: 'redis', REDIS_URL: redis.url, NODE_ID: nodeId, PRESENCE_BATCH_MS: '20', LOG_LEVEL: 'warn' },
    { readyTimeoutMs: 60_000 },
  );

before(async () => {
  redis = await startRedis();
  [a, b, c] = await Promise.all([startNode('node-a'), startNode('node-b'), startNode('node-c')]);
});
after(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await redis?.stop();
});

/** One API call, checked against the OpenAPI file; resolves with status and JSON body. */
async function api(
  node: SwitchboardProcess,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = opts.token === undefined ? testSecrets.apiToken : opts.token;
  if (opts.body !== undefined) assertRequest(method, path.split('?')[0]!, opts.body);
  const res = await fetch(`${node.httpUrl}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const body = (await res.json()) as Record<string, unknown>;
  assertResponse(method, path.split('?')[0]!, res.status, body);
  return { status: res.status, body };
}

async function client(node: SwitchboardProcess, sub: string): Promise<Socket> {
  const token = await signToken({ sub, join: ['room:*', '$sb:*', '*'], publish: ['room:*'] });
  const socket = await connect(node.socketUrl, { params: { token }, reconnectAfterMs: () => 60_000 });
  sockets.push(socket);
  return socket;
}

async function joined(socket: Socket, topic: string): Promise<Channel> {
  const channel = socket.channel(topic, {});
  const reply = await join(channel);
  assert.equal(reply.status, 'ok', `join ${topic}: ${JSON.stringify(reply.response)}`);
  return channel;
}

const unique = (name: string) => `room:${name}-${Math.random().toString(36).slice(2, 8)}`;
const enc = encodeURIComponent;

test('topics, occupancy and presence count every node, from any node', async () => {
  const lobby = unique('lobby');
  const side = unique('side');
  const aliceA = await client(a, 'alice');
  const aliceB = await client(b, 'alice');
  const bob = await client(c, 'bob');
  await joined(aliceA, lobby);
  await joined(aliceB, lobby);
  await joined(bob, lobby);
  await joined(aliceA, side);

  for (const node of [a, b, c]) {
    const occupancy = await api(node, 'GET', `/api/topics/${enc(lobby)}`);
    assert.equal(occupancy.status, 200);
    assert.deepEqual(occupancy.body, { topic: lobby, subscribers: 3, nodes: 3, complete: true });
  }
  const nobody = await api(b, 'GET', `/api/topics/${enc(unique('empty'))}`);
  assert.equal(nobody.body.subscribers, 0);

  const prefix = lobby.slice(0, -6); // both topics of this test start with `room:`, only lobby with this
  const listed = await api(c, 'GET', `/api/topics?prefix=${enc(prefix)}`);
  assert.deepEqual(listed.body, {
    nodes: 3,
    complete: true,
    total: 1,
    topics: [{ topic: lobby, subscribers: 3 }],
  });
  const busiest = await api(a, 'GET', '/api/topics?prefix=room%3A&limit=1');
  assert.deepEqual((busiest.body.topics as unknown[])[0], { topic: lobby, subscribers: 3 });
  assert.ok((busiest.body.total as number) >= 2);

  const presence = await api(c, 'GET', `/api/topics/${enc(lobby)}/presence`);
  const state = presence.body.presence as Record<string, { metas: unknown[] }>;
  assert.deepEqual(Object.keys(state).sort(), ['alice', 'bob']);
  assert.equal(state.alice!.metas.length, 2, 'alice is there twice (two connections on two nodes)');
});

test('DELETE .../subscribers/:sub takes the user out of that topic on every node, and only that topic', async () => {
  const lobby = unique('lobby');
  const side = unique('side');
  const aliceA = await client(a, 'alice');
  const aliceB = await client(b, 'alice');
  const bob = await client(c, 'bob');
  const lobbyA = await joined(aliceA, lobby);
  const lobbyB = await joined(aliceB, lobby);
  const bobLobby = await joined(bob, lobby);
  const sideA = await joined(aliceA, side);
  const closed = (ch: Channel) => new Promise<void>((resolve) => ch.onClose(() => resolve()));
  const bothClosed = Promise.all([closed(lobbyA), closed(lobbyB)]);
  let bobClosed = false;
  bobLobby.onClose(() => {
    bobClosed = true;
  });

  const res = await api(c, 'DELETE', `/api/topics/${enc(lobby)}/subscribers/alice`);
  assert.equal(res.status, 202);
  await within(10_000, "phx_close on both of alice's channels", bothClosed);
  const occupancy = await api(a, 'GET', `/api/topics/${enc(lobby)}`);
  assert.equal(occupancy.body.subscribers, 1, 'only bob is left');
  assert.equal(bobClosed, false);
  // alice's other channel still receives.
  const received = next(sideA, 'still');
  await api(b, 'POST', '/api/broadcast', { body: { topic: side, event: 'still', payload: { n: 1 } } });
  assert.deepEqual(await received, { n: 1 });
});

test('POST /api/users/:sub/disconnect closes every connection of the user with 4003, on every node', async () => {
  const topic = unique('kick');
  const targets = [await client(a, 'mallory'), await client(b, 'mallory'), await client(c, 'mallory')];
  const bystander = await client(a, 'bob');
  for (const s of [...targets, bystander]) await joined(s, topic);
  const codes = targets.map(
    (s) => new Promise<number>((resolve) => s.onClose((e: unknown) => resolve((e as { code: number }).code))),
  );
  let bystanderClosed = false;
  bystander.onClose(() => {
    bystanderClosed = true;
  });

  const res = await api(b, 'POST', `/api/users/mallory/disconnect`);
  assert.deepEqual(res, { status: 202, body: { status: 'accepted', sub: 'mallory' } });
  assert.deepEqual(await within(10_000, 'the three closes', Promise.all(codes)), [4003, 4003, 4003]);
  await eventually('occupancy without mallory', async () => {
    const o = await api(c, 'GET', `/api/topics/${enc(topic)}`);
    return o.body.subscribers === 1;
  });
  assert.equal(bystanderClosed, false);
});

test('refusals: no token 401, malformed parameters 400, reserved topics refused to clients and the publish API', async () => {
  assert.equal((await api(a, 'GET', '/api/topics', { token: null })).status, 401);
  assert.equal((await api(a, 'POST', '/api/users/x/disconnect', { token: 'wrong' })).status, 401);
  assert.equal((await api(a, 'DELETE', '/api/topics/room%3Aa/subscribers/x', { token: null })).status, 401);
  assert.equal((await api(a, 'GET', '/api/topics/%E0%A4%A')).status, 400);
  assert.equal((await api(a, 'GET', `/api/topics/${'x'.repeat(300)}/presence`)).status, 400);
  assert.equal((await api(a, 'GET', '/api/topics?limit=0')).status, 400);
  assert.equal((await api(a, 'GET', '/api/topics?limit=1e3')).status, 400);
  assert.equal((await api(a, 'GET', `/api/topics?prefix=${'p'.repeat(300)}`)).status, 400);
  const proto = await api(a, 'POST', '/api/users/__proto__/disconnect');
  assert.deepEqual(proto.body, { status: 'accepted', sub: '__proto__' });
  const protoTopic = await api(a, 'GET', '/api/topics/__proto__');
  assert.deepEqual(protoTopic.body, { topic: '__proto__', subscribers: 0, nodes: 3, complete: true });

  const reserved = await api(a, 'POST', '/api/broadcast', {
    body: { topic: '$sb:control', event: 'hello', payload: { kind: 'disconnect', sub: 'bob' } },
  });
  assert.equal(reserved.status, 400);
  assert.match(String(reserved.body.error), /reserved/);
  const socket = await client(a, 'eve'); // her token's `join` claim includes `*` and `$sb:*`
  const reply = await join(socket.channel('$sb:control', {}));
  assert.deepEqual(reply, { status: 'error', response: { reason: 'unmatched topic' } });
});

test('a census after a node died is marked incomplete until the node is forgotten', async () => {
  const topic = unique('census');
  await joined(await client(a, 'alice'), topic);
  await joined(await client(b, 'bob'), topic);
  await c.kill();
  const started = Date.now();
  const right = await api(a, 'GET', `/api/topics/${enc(topic)}`);
  // Asked within the hello window: node-c is still expected, does not answer, the census waits 1 s.
  assert.deepEqual(right.body, { topic, subscribers: 2, nodes: 2, complete: false });
  assert.ok(Date.now() - started >= 900, 'waited for node-c');
  // Three hello intervals (6 s) later node-c is no longer expected.
  await eventually(
    'node-c forgotten',
    async () => (await api(b, 'GET', `/api/topics/${enc(topic)}`)).body.complete === true,
    15_000,
  );
});
