// LongPoll across replicas without sticky sessions: the OFFICIAL phoenix client forced to LongPoll,
// through Debian's nginx with plain round-robin over 2 server processes sharing real Redis. Every
// poll and post may land on the node that does not hold the session; it must reach it through
// the relay. Then one node is drained (SIGTERM): its clients' polls end with 410, they reconnect
// to the other node, rejoin, and go on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import {
  signToken,
  startNginx,
  startRedis,
  startSwitchboard,
  type NginxProxy,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { Presence, Socket, connect, eventually, join, presentUsers, push } from '../support/phoenix.js';

let redis: RedisServer;
let nginx: NginxProxy;
const nodes: SwitchboardProcess[] = [];
const sockets: Socket[] = [];

async function lpClient(sub: string): Promise<Socket> {
  const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
  const socket = await connect(nginx.socketUrl, {
    params: { token },
    transport: LongPoll as unknown as SocketConnectOption['transport'],
  });
  sockets.push(socket);
  return socket;
}

/** Sum of switchboard_longpoll_requests_total{route="relayed"} over the nodes given. */
async function relayed(of: SwitchboardProcess[]): Promise<number> {
  let n = 0;
  for (const node of of) {
    const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
    for (const m of text.matchAll(
      /^switchboard_longpoll_requests_total\{[^}]*route="relayed"[^}]*\} (\d+)/gm,
    ))
      n += Number(m[1]);
  }
  return n;
}

describe('LongPoll across 2 nodes behind round-robin nginx', () => {
  before(async () => {
    redis = await startRedis();
    const env = { BROKER: 'redis', REDIS_URL: redis.url, PRESENCE_BATCH_MS: '20', DRAIN_WINDOW_MS: '1000' };
    nodes.push(
      ...(await Promise.all([
        startSwitchboard({ ...env, NODE_ID: 'lp-a' }),
        startSwitchboard({ ...env, NODE_ID: 'lp-b' }),
      ])),
    );
    for (const n of nodes) {
      await eventually(
        `node ${n.port} ready`,
        async () => (await fetch(`${n.metricsUrl}/readyz`).catch(() => null))?.status === 200,
        30_000,
      );
    }
    nginx = await startNginx(nodes.map((n) => n.port));
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await nginx?.stop();
    await redis?.stop();
  });

  test('join, push, broadcast and presence work when every request may land on either node', async () => {
    const topic = 'room:lp-cluster';
    const clients = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((u) => lpClient(u)));
    const channels = clients.map((s) => s.channel(topic, {}));
    const presence = new Presence(channels[0]!);
    for (const c of channels) assert.equal((await join(c)).status, 'ok');
    // Presence also must have seen every user, wherever their session lives.
    await eventually('everyone present', () => presentUsers(presence).join() === 'ann,ben,cat,dan');
    const got = channels.map(() => [] as string[]);
    channels.forEach((c, i) => c.on('new_msg', (p: { body: string }) => void got[i]!.push(p.body)));
    const PER_CLIENT = 10;
    for (let k = 0; k < PER_CLIENT; k++) {
      await Promise.all(channels.map((c, i) => push(c, 'new_msg', { body: `${i}:${k}` })));
    }
    const total = PER_CLIENT * channels.length;
    await eventually('every client got every message', () => got.every((g) => g.length >= total), 20_000);
    for (const g of got) {
      assert.equal(g.length, total, 'nothing lost, nothing twice');
      // One sender's messages arrive in its order.
      for (let i = 0; i < channels.length; i++) {
        const mine = g.filter((b) => b.startsWith(`${i}:`));
        assert.deepEqual(
          mine,
          Array.from({ length: PER_CLIENT }, (_, k) => `${i}:${k}`),
        );
      }
    }
    const n = await relayed(nodes);
    assert.ok(n > 0, 'requests were relayed to the owning node');
    console.log(`# relayed LongPoll requests: ${n}`);
  });

  test('SIGTERM on one node: its polls end with 410, clients reconnect to the other node and go on', async () => {
    const topic = 'room:lp-drain';
    const clients = await Promise.all(['eve', 'fay', 'gus', 'hal'].map((u) => lpClient(u)));
    const channels = clients.map((s) => s.channel(topic, {}));
    for (const c of channels) assert.equal((await join(c)).status, 'ok');
    let reconnects = 0;
    for (const s of clients) s.onError(() => void reconnects++);
    const [gone, stays] = [nodes[0]!, nodes[1]!];
    // A session opened on the node about to go, polled later through the other one.
    const jwt = await signToken({ sub: 'raw', join: ['room:*'] });
    const opened = (await (await fetch(`${gone.httpUrl}/socket/longpoll?vsn=2.0.0&token=${jwt}`)).json()) as {
      token: string;
    };
    const exit = gone.stop();
    await nginx.setUpstreams([stays.port]);
    assert.equal((await exit).code, 0, 'the drained node exits 0');
    nodes.shift();
    const t0 = Date.now();
    const orphan = (await (
      await fetch(`${stays.httpUrl}/socket/longpoll?vsn=2.0.0&token=${opened.token}`)
    ).json()) as { status: number };
    assert.equal(orphan.status, 410, 'a session whose node is gone is 410 (the client reconnects)');
    // Waiting for the gone owner would take LONGPOLL_WINDOW_MS + LONGPOLL_RELAY_TIMEOUT_MS (10 s + 2 s
    // by default): half of that is a ceiling that tells the two apart on a loaded machine.
    const tookMs = Date.now() - t0;
    assert.ok(tookMs < 6000, `answered at once, not after a relay timeout (${tookMs} ms)`);
    // Sessions of the gone node were closed; the others stay. Every client works again.
    const got = channels.map(() => [] as string[]);
    channels.forEach((c, i) => c.on('after', (p: { body: string }) => void got[i]!.push(p.body)));
    await eventually(
      'every client pushes through the remaining node',
      async () => {
        const replies = await Promise.all(channels.map((c) => push(c, 'after', { body: 'x' }, 2000)));
        return replies.every((r) => r.status === 'ok');
      },
      30_000,
    );
    await eventually(
      'every client hears the others',
      () => got.every((g) => g.length >= channels.length),
      10_000,
    );
    assert.ok(reconnects > 0, 'some clients had to reconnect');
    console.log(`# socket errors (reconnects) after the drain: ${reconnects}`);
  });
});
