// WEBHOOK_QUEUE_MAX_BYTES on the shared outbox (docs/webhooks.md, "Bounds"): three real nodes on
// real Redis (standalone, then a three-master Cluster), a real receiver process behind a TCP proxy
// that first refuses every connection (the receiver is down), WEBHOOK_QUEUE_MAX far above what is
// pushed and WEBHOOK_QUEUE_MAX_BYTES room for ten client events of a known size. Thirty pushes
// spread over the three nodes: ten are written, twenty dropped and counted, and the byte total in
// Redis is ten sizes. The receiver comes back: the ten are delivered, the total returns to 0 and
// ten more pushes are all accepted.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import {
  refusedPort,
  signToken,
  startRedis,
  startRedisCluster,
  startSwitchboard,
  startTcpProxy,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, eventually, join, push, type Channel, type Socket } from '../support/phoenix.js';
import { metricValue } from '../support/resource-bounds.js';
import { startReceiver } from '../support/webhook-receiver-process.js';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
const TOPIC = 'game:b';
const EVENT = 'move';
/** Subs of one length, so every event has the same size. */
const SUBS = ['fill-0', 'fill-1', 'fill-2'];
const PAYLOAD = { p: 'x'.repeat(1000) };
/** The documented size: topic + event + sub + payload JSON, in bytes (1024 here). */
const SIZE = TOPIC.length + EVENT.length + SUBS[0]!.length + JSON.stringify(PAYLOAD).length;
const FITS = 10;
const BOUND = FITS * SIZE + Math.floor(SIZE / 2);
const PUSHES = 30;
const TOTAL_KEY = 'sb:webhooks:{sb-webhooks}:outbox-bytes';
const OUTBOX_KEY = 'sb:webhooks:{sb-webhooks}:outbox';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Setup {
  env: Record<string, string>;
  redis: Redis | Cluster;
}

async function standalone(): Promise<Setup> {
  const server = await startRedis();
  cleanups.push(() => server.stop());
  return { env: { BROKER: 'redis', REDIS_URL: server.url }, redis: new Redis(server.url) };
}

async function cluster(): Promise<Setup> {
  const c = await startRedisCluster(3);
  cleanups.push(() => c.stop());
  return {
    env: { BROKER: 'redis-cluster', REDIS_CLUSTER_NODES: c.nodesEnv },
    redis: new Cluster(c.nodes),
  };
}

async function pusher(node: SwitchboardProcess, sub: string): Promise<Channel> {
  const token = await signToken({ sub, join: ['game:*'], publish: ['game:*'] });
  const socket: Socket = await connect(node.socketUrl, { params: { token } });
  cleanups.push(async () => socket.disconnect());
  const ch = socket.channel(TOPIC, {});
  assert.equal((await join(ch)).status, 'ok');
  return ch;
}

const sum = async (nodes: SwitchboardProcess[], outcome: string) =>
  (
    await Promise.all(
      nodes.map((n) =>
        metricValue(n, `switchboard_webhooks_total{event="client_event",outcome="${outcome}"}`),
      ),
    )
  ).reduce((a, b) => a + b, 0);

describe('WEBHOOK_QUEUE_MAX_BYTES bounds the shared outbox', () => {
  for (const [name, setup] of [
    ['standalone Redis', standalone],
    ['Redis Cluster', cluster],
  ] as const) {
    test(`three nodes on ${name}: ${FITS} events of ${SIZE} bytes fit ${BOUND} bytes, the rest dropped; room again once delivered`, async () => {
      const { env, redis } = await setup();
      cleanups.push(async () => redis.disconnect());
      const receiver = await startReceiver(SECRET, 0);
      cleanups.push(() => receiver.proc.stop());
      const proxy = await startTcpProxy(await refusedPort());
      cleanups.push(() => proxy.close());
      const nodes = await Promise.all(
        SUBS.map((_, i) =>
          startSwitchboard({
            ...env,
            LOG_LEVEL: 'error',
            NODE_ID: `bb-${i}`,
            WEBHOOK_URL: `http://127.0.0.1:${proxy.port}/webhooks`,
            WEBHOOK_SECRET: SECRET,
            // Nothing but client events takes room in the outbox.
            WEBHOOK_EVENTS: 'member_removed',
            PRESENCE_TOPICS: 'none',
            WEBHOOK_CLIENT_EVENTS: 'game:*',
            WEBHOOK_QUEUE_MAX: '1000',
            WEBHOOK_QUEUE_MAX_BYTES: String(BOUND),
            WEBHOOK_MAX_ATTEMPTS: '100',
            WEBHOOK_RETRY_BASE_MS: '100',
            WEBHOOK_RETRY_MAX_MS: '500',
          }),
        ),
      );
      cleanups.push(() => Promise.all(nodes.map((n) => n.stop())));
      const channels = await Promise.all(nodes.map((n, i) => pusher(n, SUBS[i]!)));

      for (let n = 0; n < PUSHES; n++) {
        assert.equal((await push(channels[n % 3]!, EVENT, PAYLOAD)).status, 'ok');
      }
      const outbox = async () => ({
        len: await redis.xlen(OUTBOX_KEY),
        bytes: Number((await redis.get(TOTAL_KEY)) ?? '0'),
        dropped: await sum(nodes, 'dropped'),
      });
      // Every push written or dropped (appends are not awaited by the push).
      const full = await eventually(
        'every push written to the outbox or dropped',
        async () => {
          const o = await outbox();
          return o.len + o.dropped === PUSHES ? o : null;
        },
        20_000,
      );
      assert.deepEqual(full, { len: FITS, bytes: FITS * SIZE, dropped: PUSHES - FITS });
      assert.equal(await sum(nodes, 'delivered'), 0, 'the receiver is down');

      proxy.retarget(Number(new URL(receiver.url).port));
      const drained = await eventually(
        'the outbox drained after the receiver came back',
        async () => {
          const [o, delivered] = await Promise.all([outbox(), sum(nodes, 'delivered')]);
          return o.len === 0 && delivered === FITS ? o : null;
        },
        30_000,
      );
      assert.deepEqual(drained, { len: 0, bytes: 0, dropped: PUSHES - FITS });

      for (let n = 0; n < FITS; n++) {
        assert.equal((await push(channels[n % 3]!, EVENT, PAYLOAD)).status, 'ok');
      }
      await eventually(
        'ten more accepted and delivered',
        async () => {
          const [o, delivered] = await Promise.all([outbox(), sum(nodes, 'delivered')]);
          return o.len === 0 && delivered === 2 * FITS && o.bytes === 0;
        },
        30_000,
      );
      assert.equal(await sum(nodes, 'dropped'), PUSHES - FITS, 'nothing more dropped');
      const received = (await receiver.requests()).filter(
        (r) => r.event === 'client_event' && r.status < 300,
      );
      assert.equal(new Set(received.map((r) => r.key)).size, 2 * FITS);
    });
  }
});
