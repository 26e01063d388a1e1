// Client events in webhooks (docs/webhooks.md, like Pusher's client_event): two nodes on real
// Redis with WEBHOOK_CLIENT_EVENTS=game:*, a third on the same Redis and receiver without it, and a
// real receiver process that answers the first attempt of every event with a 500. Pushes from the
// official `phoenix` client: each accepted push on game:* is exactly one client_event (one
// idempotency key, the same signed body on the retry) from the node that received it; a refused
// push, a push on another topic and a push to the node without the setting send none.
// (A new file beside webhooks.test.ts, which is near the 400-line mark of STYLE.md.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  signToken,
  startRedis,
  startSwitchboard,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, eventually, join, push, type Channel, type Socket } from '../support/phoenix.js';
import { startListening } from '../support/listening-process.js';
import { metricValue } from '../support/resource-bounds.js';
import type { ReceivedWebhook } from '../support/webhook-receiver.js';
import {
  startNodeWithReceiverDown,
  startReceiver,
  type Receiver,
} from '../support/webhook-receiver-process.js';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
const FAIL_FIRST = 1;

let redis: RedisServer;
let receiver: Receiver;
let nodes: SwitchboardProcess[] = [];
const sockets: Socket[] = [];

before(async () => {
  [redis, receiver] = await Promise.all([startRedis(), startReceiver(SECRET, FAIL_FIRST)]);
  const env = {
    LOG_LEVEL: 'warn',
    BROKER: 'redis',
    REDIS_URL: redis.url,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_EVENTS: 'channel_occupied',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '200',
  };
  nodes = await Promise.all([
    startSwitchboard({ ...env, NODE_ID: 'ce-a', WEBHOOK_CLIENT_EVENTS: 'game:*' }),
    startSwitchboard({ ...env, NODE_ID: 'ce-b', WEBHOOK_CLIENT_EVENTS: 'game:*' }),
    startSwitchboard({ ...env, NODE_ID: 'ce-off' }),
  ]);
});
after(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  await Promise.all(nodes.map((n) => n.stop()));
  await receiver?.proc.stop();
  await redis?.stop();
});

async function joined(
  node: SwitchboardProcess,
  sub: string,
  topic: string,
  publish: boolean,
): Promise<Channel> {
  const token = await signToken({
    sub,
    join: ['game:*', 'room:*'],
    publish: publish ? ['game:*', 'room:*'] : [],
  });
  const socket = await connect(node.socketUrl, { params: { token } });
  sockets.push(socket);
  const ch = socket.channel(topic, {});
  assert.equal((await join(ch)).status, 'ok', `${sub} joins ${topic}`);
  return ch;
}

/** Every client_event attempt the receiver got, by idempotency key. */
function byKey(all: ReceivedWebhook[]): Map<string, ReceivedWebhook[]> {
  const keys = new Map<string, ReceivedWebhook[]>();
  for (const r of all.filter((r) => r.event === 'client_event')) {
    keys.set(r.key, [...(keys.get(r.key) ?? []), r]);
  }
  return keys;
}

test('one client_event per accepted push on game:*, from the receiving node; none for refused, other topics or a node without the setting', async () => {
  const [a, b, off] = nodes as [SwitchboardProcess, SwitchboardProcess, SwitchboardProcess];
  const alice = await joined(a, 'alice', 'game:1', true);
  const bob = await joined(b, 'bob', 'game:1', true);
  const mallory = await joined(b, 'mallory', 'game:1', false);
  const carol = await joined(off, 'carol', 'game:1', true);
  const aliceRoom = await joined(a, 'alice', 'room:1', true);

  // A key named __proto__ is data: built with JSON.parse, so it is an own key, not a prototype.
  const payload = (n: number) => JSON.parse(`{"n":${n},"__proto__":{"polluted":"yes"}}`) as object;
  for (let n = 0; n < 5; n++) assert.equal((await push(alice, 'move', payload(n))).status, 'ok');
  assert.equal((await push(bob, 'move', { n: 100 })).status, 'ok');
  assert.deepEqual(await push(mallory, 'move', { n: 200 }), {
    status: 'error',
    response: { reason: 'unauthorized' },
  });
  assert.equal((await push(carol, 'move', { n: 300 })).status, 'ok', 'accepted; its node has no setting');
  assert.equal((await push(aliceRoom, 'move', { n: 400 })).status, 'ok', 'room:* is not in the setting');
  // The last push: once its event is in, every earlier push's event was written (one connection, in order).
  assert.equal((await push(alice, 'last', { n: 999 })).status, 'ok');

  // Done when `last` is accepted and so is every event seen: the node sends its outbox in order, so
  // an event written before `last` was attempted before `last`'s retry.
  const keys = await eventually(
    'the last client event and every one before it accepted by the receiver',
    async () => {
      const k = byKey(await receiver.requests());
      const accepted = (tries: ReceivedWebhook[]) => tries.some((t) => t.status < 300);
      const last = [...k.values()].some((t) => accepted(t) && t[0]!.raw.includes('"event":"last"'));
      return last && [...k.values()].every(accepted) ? k : null;
    },
    20_000,
  );
  const bodies = [...keys.values()].map((tries) => tries[0]!.body);
  assert.equal(keys.size, 7, `distinct client events: ${JSON.stringify(bodies)}`);
  const seen = bodies.map((b) => [b.node, b.topic, b.sub, (b.push as { payload: { n: number } }).payload.n]);
  assert.deepEqual(
    seen.sort((x, y) => Number(x[3]) - Number(y[3])),
    [
      ['ce-a', 'game:1', 'alice', 0],
      ['ce-a', 'game:1', 'alice', 1],
      ['ce-a', 'game:1', 'alice', 2],
      ['ce-a', 'game:1', 'alice', 3],
      ['ce-a', 'game:1', 'alice', 4],
      ['ce-b', 'game:1', 'bob', 100],
      ['ce-a', 'game:1', 'alice', 999],
    ],
    'no event for the refused push (200), the node without the setting (300) or room:1 (400)',
  );
  for (const [key, tries] of keys) {
    assert.deepEqual(
      tries.map((t) => [t.attempt, t.status]),
      [
        ['1', 500],
        ['2', 204],
      ],
      `retried once after the 500 (${key})`,
    );
    assert.ok(tries.every((t) => t.signatureOk && t.raw === tries[0]!.raw && t.body.id === key));
    assert.equal(tries[0]!.body.version, 1);
    assert.equal(tries[0]!.body.event, 'client_event');
  }
  const first = [...keys.values()].find((t) => t[0]!.raw.includes('"n":0'))![0]!;
  assert.match(first.raw, /"push":\{"event":"move","payload":\{"n":0,"__proto__":\{"polluted":"yes"\}\}\}/);
});

test('one node, receiver down, WEBHOOK_QUEUE_MAX=2: client events beyond the bound are dropped and counted', async () => {
  const sb = await startNodeWithReceiverDown(SECRET, {
    LOG_LEVEL: 'warn',
    // No other event may take room in the queue: no occupancy events, no presence.
    WEBHOOK_EVENTS: 'member_removed',
    PRESENCE_TOPICS: 'none',
    WEBHOOK_CLIENT_EVENTS: 'game:*',
  });
  try {
    const ch = await joined(sb, 'dora', 'game:q', true);
    const replies = await Promise.all([0, 1, 2, 3, 4].map((n) => push(ch, 'move', { n })));
    assert.ok(
      replies.every((r) => r.status === 'ok'),
      'a webhook never refuses or delays a push',
    );
    const count = (outcome: string) =>
      metricValue(sb, `switchboard_webhooks_total{event="client_event",outcome="${outcome}"}`);
    let dropped = 0;
    let failed = 0;
    await eventually('every client event dropped or failed', async () => {
      [dropped, failed] = await Promise.all([count('dropped'), count('failed')]);
      return dropped + failed === 5;
    });
    assert.ok(dropped >= 1 && failed >= 2, `dropped ${dropped}, failed ${failed}`);
  } finally {
    await sb.stop();
  }
});

test('with a push hook: the broadcast the backend asks for is the client_event; an answer without one sends none', async () => {
  const HOOK_SECRET = 'hook-secret-for-tests-0123456789abcdef';
  const backend = await startListening('hook-backend.ts', { HOOKS_SECRET: HOOK_SECRET });
  const sb = await startSwitchboard({
    LOG_LEVEL: 'warn',
    NODE_ID: 'ce-hook',
    BROKER: 'redis',
    REDIS_URL: redis.url,
    HOOKS_URL: `http://127.0.0.1:${backend.port}/hooks`,
    HOOKS_SECRET: HOOK_SECRET,
    HOOKS_TOPICS: 'game:*',
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_EVENTS: 'channel_occupied',
    WEBHOOK_CLIENT_EVENTS: 'game:*',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '200',
  });
  try {
    const token = await signToken({ sub: 'erin', join: ['game:*'] });
    const socket = await connect(sb.socketUrl, { params: { token } });
    sockets.push(socket);
    const ch = socket.channel('game:hooked', { secret: 'open sesame' });
    assert.equal((await join(ch)).status, 'ok');
    // hook-backend.ts: ping is answered without a broadcast, a bad move is an error, a move is
    // broadcast rewritten as `moved`; the shout (no reply, broadcast as pushed) comes last.
    assert.deepEqual(await push(ch, 'ping', {}), { status: 'ok', response: { pong: true } });
    assert.equal((await push(ch, 'move', { square: 9 })).status, 'error');
    assert.deepEqual(await push(ch, 'move', { square: 4 }), { status: 'ok', response: { accepted: 4 } });
    assert.equal((await push(ch, 'shout', { text: 'hey' }, 500)).status, 'timeout');
    const hooked = await eventually(
      'the shout client_event accepted',
      async () => {
        const k = byKey((await receiver.requests()).filter((r) => r.body.topic === 'game:hooked'));
        const events = [...k.values()];
        const done = events.every((t) => t.some((r) => r.status < 300));
        return done && events.some((t) => t[0]!.raw.includes('"event":"shout"')) ? events : null;
      },
      20_000,
    );
    assert.deepEqual(
      hooked.map((t) => t[0]!.body.push).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      [
        { event: 'moved', payload: { square: 4, by: 'erin' } },
        { event: 'shout', payload: { text: 'hey' } },
      ],
      'one per broadcast: none for ping or the refused move',
    );
    assert.ok(hooked.every((t) => t[0]!.body.node === 'ce-hook' && t[0]!.body.sub === 'erin'));
  } finally {
    await sb.stop();
    await backend.proc.stop();
  }
});
