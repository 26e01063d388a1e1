// The deploy test: 3 real server processes behind Debian's nginx configured as ingress-nginx
// configures WebSockets, real Redis and PostgreSQL, 200+ official phoenix clients with recovery (the
// documented helper, server/public/recovery.js) across several topics, and a publisher at a steady
// rate through nginx. Most clients use the WebSocket; 24 are forced to LongPoll (nginx round-robin,
// no sticky sessions: their polls and posts land on any node and are relayed to the session's
// owner), judged by the same rules. Every server is replaced in turn (new process first, upstreams
// old+new, then new only, SIGTERM the old one, which must exit 0). Passes only if every client, of
// either transport, received every published message exactly once and in order (after
// de-duplicating by offset) and every client reconnected. Prints the message count, reconnect-time
// p99 and recovery counts.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import {
  signToken,
  startNginx,
  startPostgres,
  startRedis,
  startSwitchboard,
  testSecrets,
  type NginxProxy,
  type PostgresServer,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { recoveryClient, type RecoveryClient } from '../support/recovery-client.js';

const CLIENTS = 200;
/** Official clients forced to LongPoll, on top of the WebSocket ones (another `sub`, so the
 * per-user connection cap is not shared with the 200). */
const LONGPOLL_CLIENTS = 24;
const TOPICS = ['room:deploy-0', 'room:deploy-1', 'room:deploy-2', 'room:deploy-3'];
/** Per topic; 4 topics -> 20 publications per second in all. */
const PUBLISH_EVERY_MS = 200;
const DRAIN_WINDOW_MS = 3000;
/** The event published once per topic after the last message: the marker that nothing more comes. */
const SENTINEL = 'end';

let redis: RedisServer;
let postgres: PostgresServer;
let nginx: NginxProxy | undefined;
const nodes: SwitchboardProcess[] = [];
let generation = 0;

async function startNode(env: Record<string, string>): Promise<SwitchboardProcess> {
  const node = await startSwitchboard(
    {
      ...env,
      NODE_ID: `deploy-${generation++}`,
      DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS),
      LOG_LEVEL: 'warn',
    },
    { readyTimeoutMs: 90_000 },
  );
  // Ready, not just alive: broker and sequencer connected.
  await eventually(
    `node ${node.port} ready`,
    async () => (await fetch(`${node.metricsUrl}/readyz`).catch(() => null))?.status === 200,
    60_000,
  );
  return node;
}

before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
});
after(async () => {
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  await nginx?.stop();
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * POST /api/broadcast on a fresh connection (no keep-alive): nginx's graceful reload closes idle
 * keep-alive connections, and a request racing that close would fail on the client side.
 */
function postBroadcast(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/broadcast`,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${testSecrets.apiToken}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One sequential publisher per topic (so a topic's n order is its offset order), through nginx. */
function startPublishers(url: string) {
  let stopped = false;
  const accepted = new Map<string, number[]>(TOPICS.map((t) => [t, []]));
  const failures: string[] = [];
  const loops = TOPICS.map(async (topic) => {
    let n = 0;
    while (!stopped) {
      n++;
      const res = await postBroadcast(url, JSON.stringify({ topic, event: 'msg', payload: { n } })).catch(
        (err: Error) => err,
      );
      if (res !== 202) {
        failures.push(`${topic} n=${n}: ${res instanceof Error ? res.message : res}`);
      } else {
        accepted.get(topic)!.push(n);
      }
      await new Promise((r) => setTimeout(r, PUBLISH_EVERY_MS)); // pacing: the steady publish rate
    }
  });
  return {
    accepted,
    failures,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

test(
  `deploy: ${CLIENTS} WebSocket and ${LONGPOLL_CLIENTS} LongPoll phoenix clients with recovery, 3 nodes behind nginx replaced one by one, no message lost or duplicated`,
  { timeout: 300_000 },
  async () => {
    const env = { BROKER: 'redis', REDIS_URL: redis.url, DATABASE_URL: postgres.url };
    nodes.push(...(await Promise.all([startNode(env), startNode(env), startNode(env)])));
    nginx = await startNginx(nodes.map((n) => n.port));
    const proxy = nginx;

    const token = await signToken({ sub: 'deploy', join: ['room:*'] });
    const lpToken = await signToken({ sub: 'deploy-lp', join: ['room:*'] });
    const clients: RecoveryClient[] = [];
    const isLongPoll = (i: number) => i >= CLIENTS;
    for (let i = 0; i < CLIENTS + LONGPOLL_CLIENTS; i++) {
      const transport = isLongPoll(i)
        ? { transport: LongPoll as unknown as SocketConnectOption['transport'] }
        : {};
      clients.push(
        recoveryClient(proxy.socketUrl, isLongPoll(i) ? lpToken : token, TOPICS[i % TOPICS.length]!, {
          reconnectAfterMs: () => 50 + Math.floor(Math.random() * 450),
          rejoinAfterMs: () => 200 + Math.floor(Math.random() * 300),
          ...transport,
        }),
      );
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50)); // pacing: do not stampede the first join
    }
    const topicOf = (i: number) => TOPICS[i % TOPICS.length]!;
    const nameOf = (i: number) => `${isLongPoll(i) ? 'LongPoll' : 'WebSocket'} client ${i} (${topicOf(i)})`;
    try {
      for (let i = 0; i < clients.length; i += 25) {
        await Promise.all(clients.slice(i, i + 25).map((c) => c.join(60_000)));
      }
      const publishers = startPublishers(proxy.httpUrl);
      const acceptedAtLeast = (n: number) => [...publishers.accepted.values()].every((a) => a.length >= n);
      // Traffic before the first replacement: 10 publications accepted on every topic.
      await eventually('10 publications on every topic', () => acceptedAtLeast(10), 60_000);

      for (let i = 0; i < 3; i++) {
        const old = nodes[i]!;
        const fresh = await startNode(env);
        const live = nodes.filter((n) => n !== old && n.proc.child.exitCode === null);
        await proxy.setUpstreams([...live, old, fresh].map((n) => n.port));
        await proxy.setUpstreams([...live, fresh].map((n) => n.port));
        const { code } = await old.stop('SIGTERM', 60_000);
        assert.equal(code, 0, `node ${old.port} exited with ${code}:\n${old.output().slice(-3000)}`);
        nodes.push(fresh);
        // Let the drained clients land and rejoin before the next replacement.
        await eventually(
          `every client joined again after replacing node ${i + 1}`,
          () => clients.every((c) => c.channel.state === 'joined' && c.socket.isConnected()),
          60_000,
        );
      }
      // Traffic after the last replacement: 10 more publications accepted on every topic.
      const published = Math.max(...[...publishers.accepted.values()].map((a) => a.length));
      await eventually(
        '10 publications after the last replacement',
        () => acceptedAtLeast(published + 10),
        60_000,
      );
      await publishers.stop();

      // A sentinel after the last publication of each topic: a client that has it has had every
      // earlier one delivered or skipped (one topic's offsets are in order), so nothing can arrive
      // later and the comparison below is final.
      for (const topic of TOPICS) {
        const body = JSON.stringify({ topic, event: SENTINEL, payload: {} });
        assert.equal(await postBroadcast(proxy.httpUrl, body), 202, `sentinel on ${topic}`);
      }
      await eventually(
        'the sentinel at every client',
        () => clients.every((c) => c.delivered.some((m) => m.event === SENTINEL)),
        90_000,
      ).catch(() => undefined); // the assertions below say who misses what
      const expected = publishers.accepted;
      const messagesOf = (c: RecoveryClient) => c.delivered.filter((m) => m.event === 'msg');

      let delivered = 0;
      const problems: string[] = [];
      clients.forEach((c, i) => {
        const want = expected.get(topicOf(i))!;
        const got = messagesOf(c).map((m) => m.payload.n);
        const offsets = messagesOf(c).map((m) => m.position?.offset);
        delivered += got.length;
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          const missing = want.filter((n) => !got.includes(n));
          problems.push(
            `${nameOf(i)}: ${got.length}/${want.length} messages, missing ${missing.slice(0, 10).join(',')}`,
          );
        } else if (offsets.some((o, k) => o !== k + 1)) {
          problems.push(`${nameOf(i)}: offsets not 1..${want.length} in order`);
        }
        if (!c.delivered.some((m) => m.event === SENTINEL)) problems.push(`${nameOf(i)}: no sentinel`);
        if (c.opens < 2) problems.push(`${nameOf(i)} never reconnected (opens: ${c.opens})`);
      });

      const total = [...expected.values()].reduce((s, v) => s + v.length, 0);
      const rejoins = clients.flatMap((c) => c.joins.slice(1));
      const recoveredTrue = rejoins.filter((r) => r.recovered).length;
      const recoveredFalse = rejoins.length - recoveredTrue;
      const reconnectTimes = clients.flatMap((c) => c.reconnectTimes);
      const duplicatesDropped = clients.reduce(
        (s, c) => s + c.raw.filter((p) => p !== null).length - messagesOf(c).length,
        0,
      );
      const longPoll = clients.filter((_, i) => isLongPoll(i));
      console.log(
        `deploy: ${CLIENTS} WebSocket and ${LONGPOLL_CLIENTS} LongPoll clients on ${TOPICS.length} topics, 3 nodes replaced; ${total} messages published ` +
          `(${publishers.failures.length} publish requests failed), ${delivered} deliveries after de-dup ` +
          `(${duplicatesDropped} duplicates dropped by offset); reconnects ${reconnectTimes.length}, ` +
          `reconnect-time p50 ${percentile(reconnectTimes, 50)} ms, p99 ${percentile(reconnectTimes, 99)} ms, ` +
          `max ${Math.max(...reconnectTimes)} ms; recoveries: recovered=true ${recoveredTrue}, recovered=false ${recoveredFalse}; ` +
          `LongPoll: ${longPoll.reduce((s, c) => s + messagesOf(c).length, 0)} deliveries, ` +
          `${longPoll.reduce((s, c) => s + c.joins.length - 1, 0)} rejoins, ${longPoll.reduce((s, c) => s + c.opens, 0)} session opens`,
      );
      if (publishers.failures.length > 0)
        console.log(`publish failures: ${publishers.failures.slice(0, 5).join('; ')}`);
      assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
      assert.equal(recoveredFalse, 0, 'every rejoin recovered');
      assert.equal(publishers.failures.length, 0, 'every publish request was accepted');
    } finally {
      for (const c of clients) c.socket.disconnect();
    }
  },
);
