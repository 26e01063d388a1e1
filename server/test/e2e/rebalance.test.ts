// Rebalancing after a scale-up (docs/scaling.md, REBALANCE_INTERVAL_MS): 120 official phoenix
// clients with the recovery helper all on node A behind nginx, a steady publisher; node B starts and
// joins the upstreams. A's rebalancer drains its excess over the mean in paced share drains until
// both nodes hold within 20 % of even, and every client has every message once and in order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
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
import { eventually } from '../support/phoenix.js';
import { recoveryClient, type RecoveryClient } from '../support/recovery-client.js';

const CLIENTS = 120;
const TOPIC = 'room:rebalance';

let redis: RedisServer;
let nginx: NginxProxy | undefined;
const nodes: SwitchboardProcess[] = [];
const env = () => ({
  BROKER: 'redis',
  REDIS_URL: redis.url,
  LOG_LEVEL: 'info',
  MAX_CONNECTIONS_PER_USER: '1000',
  REBALANCE_INTERVAL_MS: '3000',
  DRAIN_WINDOW_MS: '1000',
});
before(async () => {
  redis = await startRedis();
  nodes.push(await startSwitchboard(env()));
  nginx = await startNginx([nodes[0]!.port]);
});
after(async () => {
  await Promise.all(nodes.map((n) => n.kill()));
  await nginx?.stop();
  await redis?.stop();
});

async function scrape(node: SwitchboardProcess, name: string): Promise<number> {
  const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

async function publish(node: SwitchboardProcess, event: string, payload: object): Promise<void> {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}` },
    body: JSON.stringify({ topic: TOPIC, event, payload }),
  });
  assert.equal(res.status, 202);
}

test(
  `scale from 1 to 2 nodes under load: ${CLIENTS} connections converge to within 20 % of even, no message lost`,
  { timeout: 180_000 },
  async () => {
    const [a] = nodes as [SwitchboardProcess];
    const proxy = nginx!;
    const token = await signToken({ sub: 'rebalance', join: ['room:*'] });
    const clients: RecoveryClient[] = [];
    for (let i = 0; i < CLIENTS; i++) clients.push(recoveryClient(proxy.socketUrl, token, TOPIC));
    try {
      await Promise.all(clients.map((c) => c.join(60_000)));
      assert.equal(await scrape(a, 'switchboard_connections'), CLIENTS);

      let n = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing) {
          await publish(a, 'msg', { n: ++n });
          await new Promise((r) => setTimeout(r, 200)); // pacing: 5 publications per second
        }
      })();

      const b = await startSwitchboard(env());
      nodes.push(b);
      await proxy.setUpstreams([a.port, b.port]);
      const scaledAt = Date.now();
      const counts = await eventually(
        'both nodes within 20 % of even, every client joined',
        async () => {
          const c = [await scrape(a, 'switchboard_connections'), await scrape(b, 'switchboard_connections')];
          const even = CLIENTS / 2;
          const balanced = c.every((x) => Math.abs(x - even) <= 0.2 * even) && c[0]! + c[1]! === CLIENTS;
          const joined = clients.every((cl) => cl.channel.state === 'joined' && cl.socket.isConnected());
          return balanced && joined && c;
        },
        90_000,
      );
      const convergedMs = Date.now() - scaledAt;
      const rounds = await scrape(a, 'switchboard_rebalance_drains_total');
      const moved = await scrape(a, 'switchboard_drain_closed_total');

      const last = n + 5;
      await eventually('5 more publications', () => n >= last, 30_000);
      publishing = false;
      await publisher;
      await publish(a, 'end', {});
      await eventually(
        'the sentinel at every client',
        () => clients.every((c) => c.delivered.some((m) => m.event === 'end')),
        30_000,
      );
      const want = JSON.stringify(Array.from({ length: n }, (_, i) => i + 1));
      const problems = clients.flatMap((c, i) => {
        const got = c.delivered.filter((m) => m.event === 'msg').map((m) => m.payload.n);
        return JSON.stringify(got) === want ? [] : [`client ${i}: ${got.length}/${n} messages`];
      });
      assert.deepEqual(problems.slice(0, 10), [], `${problems.length} clients lost or repeated messages`);
      assert.ok(rounds >= 1, 'node A drained at least once');
      assert.equal(
        await scrape(b, 'switchboard_rebalance_drains_total'),
        0,
        'B, below the mean, never drained',
      );
      console.log(
        `rebalance: ${CLIENTS} connections on A, B added: ${counts.join('/')} after ${convergedMs} ms, ` +
          `${rounds} share drains moving ${moved} sockets in all; ${n} messages, every client had all once and in order`,
      );
    } finally {
      for (const c of clients) c.socket.disconnect();
    }
  },
);
