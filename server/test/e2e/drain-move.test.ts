// Moving connections (docs/api.md, POST /api/drain): two nodes over Redis behind nginx, official
// phoenix clients with the recovery helper (server/public/recovery.js) and a steady publisher. Half
// of the busier node's sockets are drained: they land on either node, each waits at least the
// reconnect delay its 1012 suggested, and every client has every message once and in order. A second
// group of plain phoenix clients (no helper, phoenix's own backoff) measures the reconnect herd the
// hint avoids; both peaks are printed.
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
import { eventually, phoenixSocket, type Socket } from '../support/phoenix.js';
import { recoveryClient, type RecoveryClient } from '../support/recovery-client.js';

const TOPIC = 'room:move';
const HELPED = 300;
const PLAIN = 300;
const WINDOW_MS = 2000;
/** phoenix 1.8's default reconnectAfterMs, so the plain group behaves as shipped. */
const phoenixBackoff = (tries: number) => [10, 50, 100, 150, 200, 250, 500, 1000, 2000][tries - 1] ?? 5000;

let redis: RedisServer;
let nginx: NginxProxy | undefined;
const nodes: SwitchboardProcess[] = [];
before(async () => {
  redis = await startRedis();
  const env = { BROKER: 'redis', REDIS_URL: redis.url, LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_USER: '1000' };
  nodes.push(...(await Promise.all([startSwitchboard(env), startSwitchboard(env)])));
  nginx = await startNginx(nodes.map((n) => n.port));
});
after(async () => {
  await Promise.all(nodes.map((n) => n.kill()));
  await nginx?.stop();
  await redis?.stop();
});

async function connections(node: SwitchboardProcess): Promise<number> {
  const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
  return Number(/^switchboard_connections (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Largest number of events in any `bucketMs` window. */
function peak(times: number[], bucketMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= bucketMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Records, per socket (already open), each close (time, suggested delay) and each reopening. */
function watch(socket: Socket) {
  const log = { closes: [] as { at: number; hint: number | null }[], opens: [] as number[] };
  socket.onClose((event: { code?: number; reason?: string }) => {
    let hint: number | null = null;
    if (event?.code === 1012)
      hint = (JSON.parse(event.reason ?? '{}') as { reconnect_after_ms?: number }).reconnect_after_ms ?? null;
    log.closes.push({ at: Date.now(), hint });
  });
  socket.onOpen(() => void log.opens.push(Date.now()));
  return log;
}

test(
  `drains half of a node's ${HELPED + PLAIN} sockets: hinted clients wait their delay, every message once and in order`,
  { timeout: 180_000 },
  async () => {
    const proxy = nginx!;
    const token = await signToken({ sub: 'move', join: ['room:*'] });
    const helped: RecoveryClient[] = [];
    const plain: Socket[] = [];
    // One connection open before the next, in the order H P P H H P ...: nginx's round robin then
    // gives each node both kinds in turn, so the drained (oldest) share holds both alike.
    const openHelped = async () => {
      const c = recoveryClient(proxy.socketUrl, token, TOPIC, { reconnectAfterMs: phoenixBackoff });
      helped.push(c);
      await eventually('helped client open', () => c.socket.isConnected());
    };
    const openPlain = async () => {
      const socket = phoenixSocket(proxy.socketUrl, { params: { token }, reconnectAfterMs: phoenixBackoff });
      socket.connect();
      plain.push(socket);
      await eventually('plain client open', () => socket.isConnected());
    };
    for (let i = 0; i < HELPED; i++) {
      for (const open of i % 2 === 0 ? [openHelped, openPlain] : [openPlain, openHelped]) await open();
    }
    const helpedLogs = helped.map((c) => watch(c.socket));
    const plainLogs = plain.map(watch);
    try {
      await Promise.all(helped.map((c) => c.join(60_000)));
      await eventually('every plain socket open', () => plain.every((s) => s.isConnected()), 60_000);
      const before = await Promise.all(nodes.map(connections));
      assert.equal(before[0]! + before[1]!, HELPED + PLAIN, `connections per node ${before.join('/')}`);
      const busiest = before[0]! >= before[1]! ? nodes[0]! : nodes[1]!;

      let n = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing) {
          const res = await fetch(`${busiest.httpUrl}/api/broadcast`, {
            method: 'POST',
            headers: { authorization: `Bearer ${testSecrets.apiToken}` },
            body: JSON.stringify({ topic: TOPIC, event: 'msg', payload: { n: n + 1 } }),
          });
          assert.equal(res.status, 202);
          n++;
          await new Promise((r) => setTimeout(r, 200)); // pacing: 5 publications per second
        }
      })();
      await eventually('5 publications', () => n >= 5);

      const res = await fetch(`${busiest.httpUrl}/api/drain`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}` },
        body: JSON.stringify({ percent: 50, window_ms: WINDOW_MS }),
      });
      assert.equal(res.status, 202);
      const { closing } = (await res.json()) as { closing: number };
      assert.equal(closing, Math.ceil(Math.max(...before) / 2));

      await new Promise((r) => setTimeout(r, WINDOW_MS)); // pacing: the drain's whole window
      await eventually(
        'every moved client back and joined',
        () =>
          helped.every((c) => c.channel.state === 'joined' && c.socket.isConnected()) &&
          plain.every((s) => s.isConnected()),
        60_000,
      );
      const last = n + 5;
      await eventually('5 more publications', () => n >= last, 30_000);
      publishing = false;
      await publisher;
      const sentinel = await fetch(`${busiest.httpUrl}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}` },
        body: JSON.stringify({ topic: TOPIC, event: 'end', payload: {} }),
      });
      assert.equal(sentinel.status, 202);
      await eventually(
        'the sentinel at every helped client',
        () => helped.every((c) => c.delivered.some((m) => m.event === 'end')),
        30_000,
      );

      const problems: string[] = [];
      const want = Array.from({ length: n }, (_, i) => i + 1);
      helped.forEach((c, i) => {
        const got = c.delivered.filter((m) => m.event === 'msg').map((m) => m.payload.n);
        if (JSON.stringify(got) !== JSON.stringify(want))
          problems.push(`client ${i}: ${got.length}/${n} messages`);
      });
      const waits: number[] = [];
      helpedLogs.forEach((log, i) => {
        for (const close of log.closes) {
          const open = log.opens.find((t) => t > close.at);
          if (close.hint === null) problems.push(`client ${i} closed without a hint`);
          else if (open === undefined) problems.push(`client ${i} never reopened`);
          // The helper's handler runs just before this log's, so its clock may read 1 ms less.
          else if (open - close.at < close.hint - 1)
            problems.push(`client ${i} came back after ${open - close.at} ms, hint ${close.hint} ms`);
          else waits.push(open - close.at - close.hint);
        }
      });
      assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
      const moved =
        helpedLogs.filter((l) => l.closes.length > 0).length +
        plainLogs.filter((l) => l.closes.length > 0).length;
      assert.equal(moved, closing, 'exactly the drained sockets closed');
      const after = await Promise.all(nodes.map(connections));
      const helpedOpens = helpedLogs.flatMap((l) => l.opens);
      const plainOpens = plainLogs.flatMap((l) => l.opens);
      console.log(
        `drain-move: ${closing} of ${Math.max(...before)} sockets drained over ${WINDOW_MS} ms; connections per node ${before.join('/')} -> ${after.join('/')}; ` +
          `${n} messages, every helped client had all once and in order; reconnects in any 20 ms at peak: ` +
          `with the hint ${peak(helpedOpens, 20)} of ${helpedOpens.length}, phoenix's own backoff ${peak(plainOpens, 20)} of ${plainOpens.length} ` +
          `(any 50 ms: ${peak(helpedOpens, 50)} and ${peak(plainOpens, 50)}); ` +
          `hinted clients reopened ${Math.max(...waits)} ms after their hint at most`,
      );
    } finally {
      for (const c of helped) c.socket.disconnect();
      for (const s of plain) s.disconnect();
    }
  },
);
