// Webhooks (docs/webhooks.md) from 3 nodes on real Redis to a real receiver process that answers
// the first 2 attempts of every event with a 500, judged from the receiver's side with the
// official `phoenix` client driving the nodes: one event per transition for the whole cluster,
// signed, retried with the same idempotency key and body, vacates debounced, and a node killed
// with SIGKILL has its channel vacated and its presence removed once, by a surviving node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startRedis,
  startRedisCluster,
  startSwitchboard,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, eventually, join, next, within, type Channel, type Socket } from '../support/phoenix.js';
import type { ReceivedWebhook } from '../support/webhook-receiver.js';
import {
  startNodeWithReceiverDown,
  startReceiver as startReceiverProcess,
  type Receiver,
} from '../support/webhook-receiver-process.js';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
const FAIL_FIRST = 2;
const DEBOUNCE_MS = 1000;
const NODE_IDS = ['wh-a', 'wh-b', 'wh-c'];

const startReceiver = () => startReceiverProcess(SECRET, FAIL_FIRST);

/** The events the receiver accepted (answered 2xx), each once, matching `event`, `topic` (and `key`). */
function delivered(all: ReceivedWebhook[], event: string, topic: string, key?: string): ReceivedWebhook[] {
  return all.filter(
    (r) =>
      r.status < 300 &&
      r.body.event === event &&
      r.body.topic === topic &&
      (key === undefined || r.body.key === key),
  );
}

/** Every request (attempts included) for `event` on `topic` (and `key`), accepted or not. */
function attempted(all: ReceivedWebhook[], event: string, topic: string, key?: string): ReceivedWebhook[] {
  return all.filter(
    (r) => r.body.event === event && r.body.topic === topic && (key === undefined || r.body.key === key),
  );
}

const sockets: Socket[] = [];
async function client(sb: SwitchboardProcess, sub: string): Promise<Socket> {
  const socket = await connect(sb.socketUrl, {
    params: { token: await signToken({ sub, join: ['room:*'] }) },
  });
  sockets.push(socket);
  return socket;
}

async function joined(s: Socket, topic: string): Promise<Channel> {
  const ch = s.channel(topic, {});
  assert.equal((await join(ch)).status, 'ok', `join ${topic}`);
  return ch;
}

function leave(ch: Channel): Promise<unknown> {
  return within(5000, `leave ${ch.topic}`, new Promise((resolve) => ch.leave().receive('ok', resolve)));
}

async function metric(sb: SwitchboardProcess, line: string): Promise<number> {
  const text = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
  const escaped = line.replace(/[{}"]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

let receiver: Receiver;

describe('webhooks from 3 nodes on real Redis', () => {
  let redis: RedisServer;
  let nodes: SwitchboardProcess[] = [];

  /** Waits until the receiver has accepted `event` on `topic` (and `key`); returns every request so far. */
  async function waitDelivered(event: string, topic: string, key?: string): Promise<ReceivedWebhook[]> {
    return eventually(
      `${event} ${topic} ${key ?? ''} accepted by the receiver`,
      async () => {
        const all = await receiver.requests();
        return delivered(all, event, topic, key).length > 0 ? all : null;
      },
      20_000,
    );
  }

  /** A transition the receiver saw: exactly one event id, retried with the same key and body. */
  function assertOnce(all: ReceivedWebhook[], event: string, topic: string, key?: string): ReceivedWebhook {
    const tries = attempted(all, event, topic, key);
    const ids = new Set(tries.map((r) => r.key));
    assert.equal(ids.size, 1, `one ${event} for ${topic} ${key ?? ''}, got ids ${[...ids].join(', ')}`);
    assert.ok(
      tries.every((r) => r.signatureOk),
      'every attempt is signed with WEBHOOK_SECRET',
    );
    assert.ok(
      tries.every((r) => r.raw === tries[0]!.raw && r.body.id === r.key),
      'every attempt carries the same body and its id as the idempotency key',
    );
    assert.deepEqual(
      tries.map((r) => [r.attempt, r.status]),
      [
        ['1', 500],
        ['2', 500],
        ['3', 204],
      ],
      'retried after the receiver failed the first attempts',
    );
    return tries[0]!;
  }

  before(async () => {
    [redis, receiver] = await Promise.all([startRedis(), receiver ?? startReceiver()]);
    const env = {
      BROKER: 'redis',
      REDIS_URL: redis.url,
      PRESENCE_TTL_MS: '1500',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_VACATE_DEBOUNCE_MS: String(DEBOUNCE_MS),
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '200',
    };
    nodes = await Promise.all(NODE_IDS.map((id) => startSwitchboard({ ...env, NODE_ID: id })));
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  test('clients on three nodes: one channel_occupied; a quick rejoin is no vacate; one channel_vacated', async () => {
    const [a, b, c] = await Promise.all(nodes.map((n, i) => client(n, `occ-${i}`)));
    const chans = await Promise.all([a!, b!, c!].map((s) => joined(s, 'room:occ')));
    assertOnce(await waitDelivered('channel_occupied', 'room:occ'), 'channel_occupied', 'room:occ');

    // Everyone leaves and one comes back within the debounce: the channel was never vacated.
    await Promise.all(chans.map(leave));
    const back = await joined(a!, 'room:occ');
    // A marker channel left after that: its vacate comes due after room:occ's would have.
    await leave(await joined(b!, 'room:marker'));
    let all = await waitDelivered('channel_vacated', 'room:marker');
    assert.equal(attempted(all, 'channel_vacated', 'room:occ').length, 0, 'no vacate on a quick rejoin');
    assert.equal(attempted(all, 'channel_occupied', 'room:occ').length, FAIL_FIRST + 1, 'no second occupied');

    await leave(back);
    all = await waitDelivered('channel_vacated', 'room:occ');
    assertOnce(all, 'channel_vacated', 'room:occ');
    assertOnce(all, 'channel_occupied', 'room:occ');
  });

  test('the same user on two nodes: one member_added, member_removed only when the last one leaves', async () => {
    const [a, b] = await Promise.all([client(nodes[0]!, 'uma'), client(nodes[1]!, 'uma')]);
    const [onA, onB] = await Promise.all([joined(a, 'room:pres'), joined(b, 'room:pres')]);
    assertOnce(await waitDelivered('member_added', 'room:pres', 'uma'), 'member_added', 'room:pres', 'uma');

    await leave(onA);
    await leave(await joined(a, 'room:pres-marker'));
    let all = await waitDelivered('member_removed', 'room:pres-marker', 'uma');
    assert.equal(
      attempted(all, 'member_removed', 'room:pres', 'uma').length,
      0,
      'uma is still on the other node',
    );

    await leave(onB);
    all = await waitDelivered('member_removed', 'room:pres', 'uma');
    assertOnce(all, 'member_removed', 'room:pres', 'uma');
    assertOnce(all, 'member_added', 'room:pres', 'uma');
  });

  test('a node killed with SIGKILL: its channel vacates and its member is removed once, by a survivor', async () => {
    const victim = nodes[2]!;
    const s = await client(victim, 'kim');
    await joined(s, 'room:kill');
    await waitDelivered('member_added', 'room:kill', 'kim');
    await waitDelivered('channel_occupied', 'room:kill');
    await victim.kill();
    s.disconnect();

    await waitDelivered('channel_vacated', 'room:kill');
    const all = await waitDelivered('member_removed', 'room:kill', 'kim');
    for (const [event, key] of [
      ['channel_occupied', undefined],
      ['channel_vacated', undefined],
      ['member_added', 'kim'],
      ['member_removed', 'kim'],
    ] as const) {
      const first = assertOnce(all, event, 'room:kill', key);
      if (event.endsWith('vacated') || event.endsWith('removed')) {
        assert.notEqual(first.body.node, 'wh-c', `${event} sent by a surviving node`);
      }
    }
  });
  test('the node delivering an event is killed mid-attempt: another node delivers it, same key and body', async () => {
    const s = await client(nodes[0]!, 'hank');
    await joined(s, 'room:hang');
    const first = await eventually('the first attempt (never answered)', async () =>
      attempted(await receiver.requests(), 'channel_occupied', 'room:hang').at(0),
    );
    const holder = nodes[NODE_IDS.indexOf(first.node)]!;
    assert.equal(holder.proc.child.exitCode, null, `${first.node} is alive`);
    await holder.kill();
    s.disconnect();

    const all = await waitDelivered('channel_occupied', 'room:hang');
    const tries = attempted(all, 'channel_occupied', 'room:hang');
    assert.equal(new Set(tries.map((r) => r.key)).size, 1, 'one event id');
    assert.ok(
      tries.every((r) => r.raw === first.raw && r.signatureOk),
      'the same signed body from every node',
    );
    const accepted = delivered(all, 'channel_occupied', 'room:hang');
    assert.equal(accepted.length, 1);
    assert.notEqual(accepted[0]!.node, first.node, 'delivered by another node');
  });
});

describe('webhooks on a Redis Cluster', () => {
  test('two nodes, three masters: one channel_occupied and one channel_vacated, signed', async () => {
    receiver ??= await startReceiver();
    const cluster = await startRedisCluster(3);
    const env = {
      BROKER: 'redis-cluster',
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_EVENTS: 'channel_occupied,channel_vacated',
      WEBHOOK_VACATE_DEBOUNCE_MS: '300',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '200',
    };
    const pair = await Promise.all(['whc-a', 'whc-b'].map((id) => startSwitchboard({ ...env, NODE_ID: id })));
    try {
      const socks = await Promise.all(pair.map((n, i) => client(n, `cl-${i}`)));
      await Promise.all(socks.map((s) => joined(s, 'room:cluster')).map(async (c) => leave(await c)));
      const all = await eventually(
        'channel_vacated room:cluster accepted',
        async () => {
          const got = await receiver.requests();
          return delivered(got, 'channel_vacated', 'room:cluster').length > 0 ? got : null;
        },
        20_000,
      );
      for (const event of ['channel_occupied', 'channel_vacated']) {
        const tries = attempted(all, event, 'room:cluster');
        assert.equal(new Set(tries.map((r) => r.key)).size, 1, `one ${event}`);
        assert.ok(tries.every((r) => r.signatureOk && r.raw === tries[0]!.raw));
      }
    } finally {
      for (const s of sockets.splice(0)) s.disconnect();
      await Promise.all(pair.map((n) => n.stop()));
      await cluster.stop();
    }
  });
});

describe('webhooks from a single node (BROKER=memory)', () => {
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await receiver?.proc.stop();
  });

  test('one node: occupied, member_added, then removed and vacated once each for a user with two connections', async () => {
    receiver ??= await startReceiver();
    const sb = await startSwitchboard({
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_EVENTS: 'channel_occupied,channel_vacated,member_added,member_removed',
      WEBHOOK_VACATE_DEBOUNCE_MS: '300',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '200',
    });
    try {
      const [a, b] = await Promise.all([client(sb, 'solo'), client(sb, 'solo')]);
      const chans = await Promise.all([joined(a, 'room:solo'), joined(b, 'room:solo')]);
      await Promise.all(chans.map(leave));
      const all = await eventually('channel_vacated and member_removed on room:solo accepted', async () => {
        const got = await receiver.requests();
        return delivered(got, 'channel_vacated', 'room:solo').length > 0 &&
          delivered(got, 'member_removed', 'room:solo', 'solo').length > 0
          ? got
          : null;
      });
      for (const event of ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed']) {
        const ids = new Set(attempted(all, event, 'room:solo').map((r) => r.key));
        assert.equal(ids.size, 1, `one ${event}`);
      }
      await eventually('the delivered counter', async () => {
        const n = await metric(sb, 'switchboard_webhooks_total{event="member_removed",outcome="delivered"}');
        return n === 1;
      });
    } finally {
      await sb.stop();
    }
  });

  test('WEBHOOK_EVENTS leaves the other events out', async () => {
    receiver ??= await startReceiver();
    const sb = await startSwitchboard({
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_EVENTS: 'channel_occupied',
    });
    try {
      const s = await client(sb, 'picky');
      const ch = s.channel('room:picky', {});
      const tracked = next(ch, 'presence_state');
      assert.equal((await join(ch)).status, 'ok');
      await tracked;
      // Queued after anything the first join produced: once it is accepted, the first attempt of a
      // member_added for room:picky would have been sent.
      await joined(s, 'room:picky2');
      const all = await eventually('channel_occupied room:picky2 accepted', async () => {
        const got = await receiver.requests();
        return delivered(got, 'channel_occupied', 'room:picky2').length > 0 ? got : null;
      });
      assert.ok(attempted(all, 'channel_occupied', 'room:picky').length > 0, 'the earlier event was sent');
      assert.equal(attempted(all, 'member_added', 'room:picky', 'picky').length, 0);
    } finally {
      await sb.stop();
    }
  });

  test('a full queue drops and counts; a receiver that stays down fails after WEBHOOK_MAX_ATTEMPTS', async () => {
    const sb = await startNodeWithReceiverDown(SECRET, { WEBHOOK_EVENTS: 'channel_occupied' });
    try {
      const s = await client(sb, 'busy');
      await Promise.all([0, 1, 2, 3, 4].map((i) => joined(s, `room:q${i}`)));
      const occupied = (outcome: string) =>
        metric(sb, `switchboard_webhooks_total{event="channel_occupied",outcome="${outcome}"}`);
      // Two fit the queue and fail; the others find it full (the outbox holds a few more for a moment).
      let dropped = 0;
      let failed = 0;
      await eventually('every event dropped or failed', async () => {
        [dropped, failed] = await Promise.all([occupied('dropped'), occupied('failed')]);
        return dropped + failed === 5;
      });
      assert.ok(dropped >= 1 && failed >= 2, `dropped ${dropped}, failed ${failed}`);
      assert.equal(await metric(sb, 'switchboard_webhook_attempts_total{result="unavailable"}'), 2 * failed);
      assert.equal(await metric(sb, 'switchboard_webhook_queue_depth'), 0);
    } finally {
      await sb.stop();
    }
  });
});
