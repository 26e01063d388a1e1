// WORKERS=2 on one node (memory broker), judged by the OFFICIAL phoenix client and raw frames: a
// client on one worker gets what is published on the other, once and in order; recovery, presence,
// /metrics, a killed worker and SIGTERM hold for the pod as for one process.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startSwitchboard, testSecrets, type SwitchboardProcess } from '../../../testkit/src/index.js';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import {
  collect,
  connect,
  eventually,
  join,
  Presence,
  presentUsers,
  push,
  within,
  type Channel,
  type Socket,
} from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';
import {
  clientsOnDistinctWorkers,
  pidOfRaw,
  workerPidChannels,
  workerTestToken,
} from '../support/workers.js';

const auth = { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' };

async function broadcast(sb: SwitchboardProcess, topic: string, payload: object): Promise<void> {
  const res = await fetch(`${sb.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ topic, event: 'msg', payload }),
  });
  assert.equal(res.status, 202, await res.text());
}

function joined(channel: Channel): Promise<void> {
  return within(
    10_000,
    `join ${channel.topic}`,
    new Promise<void>((resolve, reject) => {
      channel
        .join()
        .receive('ok', () => resolve())
        .receive('error', reject);
    }),
  );
}

function startPod(env: Record<string, string> = {}): Promise<SwitchboardProcess> {
  return startSwitchboard(
    { WORKERS: '2', CHANNELS_MODULE: workerPidChannels, PRESENCE_BATCH_MS: '20', LOG_LEVEL: 'info', ...env },
    { readyTimeoutMs: 60_000 },
  );
}

/** Raw clients of `sub` until one is served by a process other than `not`. */
async function rawOnOtherWorker(sb: SwitchboardProcess, token: string, not: number, opened: RawClient[]) {
  return eventually(
    'a raw client on the other worker',
    async () => {
      const raw = await openRaw(sb.socketUrl, token);
      opened.push(raw);
      if ((await pidOfRaw(raw)) !== not) return raw;
      raw.ws.close();
      return undefined;
    },
    30_000,
  );
}

describe('WORKERS=2 (memory broker)', () => {
  let sb: SwitchboardProcess;
  const sockets: Socket[] = [];
  const raws: RawClient[] = [];

  before(async () => {
    sb = await startPod();
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const r of raws) r.ws.close();
    await sb?.kill();
  });

  test('clients on both workers get every publication from either worker once, in order', async () => {
    const byPid = await clientsOnDistinctWorkers(sb.socketUrl, 'alice', 2, sockets);
    const primaryPid = sb.proc.child.pid;
    assert.ok(![...byPid.keys()].includes(primaryPid!), 'the primary serves no client');
    const topic = `room:fan-${Math.random().toString(36).slice(2)}`;
    const received = new Map<number, number[]>();
    const channels: Channel[] = [];
    for (const [pid, socket] of byPid) {
      const channel = socket.channel(topic, {});
      received.set(pid, []);
      channel.on('msg', (p: { n: number }) => {
        received.get(pid)!.push(p.n);
      });
      await joined(channel);
      channels.push(channel);
    }
    // 20 pushes by the client on the first worker, then 20 API publications on whichever worker.
    for (let n = 1; n <= 20; n++) channels[0]!.push('msg', { n });
    await eventually('pushes delivered', () => [...received.values()].every((r) => r.length >= 20));
    for (let n = 21; n <= 40; n++) await broadcast(sb, topic, { n });
    const all = Array.from({ length: 40 }, (_, i) => i + 1);
    await eventually('all delivered', () => [...received.values()].every((r) => r.length >= 40));
    // Nothing more arrives: another publication comes after the 40, not a duplicate of them.
    await broadcast(sb, topic, { n: 41 });
    await eventually('the marker', () => [...received.values()].every((r) => r.length >= 41));
    for (const [pid, r] of received) assert.deepEqual(r, [...all, 41], `worker ${pid}`);
  });

  test('presence joined on one worker is seen on the other', async () => {
    const alice = await clientsOnDistinctWorkers(sb.socketUrl, 'alice', 2, sockets);
    const [first, second] = [...alice.values()];
    const topic = `room:presence-${Math.random().toString(36).slice(2)}`;
    const a = first!.channel(topic, {});
    const presenceA = new Presence(a);
    await joined(a);
    const bobSocket = second!;
    const b = bobSocket.channel(topic, {});
    const presenceB = new Presence(b);
    await joined(b);
    const metasOf = (p: Presence) => p.list((_key: string, { metas }: { metas: unknown[] }) => metas.length);
    // Both connections are alice's: each worker's client sees two metas under alice.
    await eventually('two metas at the first', () => metasOf(presenceA)[0] === 2);
    await eventually('two metas at the second', () => metasOf(presenceB)[0] === 2);
    b.leave();
    await eventually('one meta left at the first', () => metasOf(presenceA)[0] === 1);
  });

  test('a client that rejoins on the other worker recovers what it missed', async () => {
    const token = await workerTestToken('rita');
    const topic = `room:recover-${Math.random().toString(36).slice(2)}`;
    const first = await openRaw(sb.socketUrl, token);
    raws.push(first);
    const firstPid = await pidOfRaw(first);
    first.send(['1', '1', topic, 'phx_join', { recover: true }]);
    const reply = await first.waitFor((f) => f[1] === '1', 'join reply');
    const { epoch } = (reply[4] as { response: { epoch: string } }).response;
    await broadcast(sb, topic, { n: 1 });
    await first.waitFor((f) => f[3] === 'msg', 'live message');
    first.ws.close();
    await broadcast(sb, topic, { n: 2 });
    await broadcast(sb, topic, { n: 3 });
    const second = await rawOnOtherWorker(sb, token, firstPid, raws);
    second.send(['1', '1', topic, 'phx_join', { recover: { epoch, offset: 1 } }]);
    const rejoin = await second.waitFor((f) => f[1] === '1', 'rejoin reply');
    assert.deepEqual((rejoin[4] as { response: object }).response, { recovered: true, epoch, offset: 3 });
    const got = await eventually('two recovered', () => {
      const msgs = second.frames.filter((f): f is unknown[] => Array.isArray(f) && f[3] === 'msg');
      return msgs.length >= 2 && msgs;
    });
    assert.deepEqual(
      got.map((f) => [f[1], f[4]]),
      [
        [`${epoch}:2`, { n: 2 }],
        [`${epoch}:3`, { n: 3 }],
      ],
    );
  });

  test('/metrics aggregates the workers: connections summed, build_info once', async () => {
    const token = await workerTestToken('meg');
    const before = await scrape(sb);
    const opened: RawClient[] = [];
    for (let i = 0; i < 4; i++) opened.push(await openRaw(sb.socketUrl, token));
    raws.push(...opened);
    const pids = new Set(await Promise.all(opened.map((r) => pidOfRaw(r))));
    assert.equal(pids.size, 2, 'the four connections are spread over both workers');
    const text = await eventually('four more connections', async () => {
      const t = await scrape(sb);
      return valueOf(t, 'switchboard_connections') === valueOf(before, 'switchboard_connections') + 4 && t;
    });
    const buildInfo = text.split('\n').filter((l) => l.startsWith('switchboard_build_info{'));
    assert.equal(buildInfo.length, 1, buildInfo.join('\n'));
    assert.match(buildInfo[0]!, /\} 1$/);
    for (const r of opened) r.ws.close();
  });

  test('LongPoll clients whose requests land on either worker join, push, receive and see presence', async () => {
    const topic = `room:lp-${Math.random().toString(36).slice(2)}`;
    const users = ['lea', 'leo', 'lou'];
    const clients = await Promise.all(
      users.map(async (sub) => {
        const socket = await connect(sb.socketUrl, {
          params: { token: await workerTestToken(sub) },
          transport: LongPoll as unknown as SocketConnectOption['transport'],
        });
        sockets.push(socket);
        return socket;
      }),
    );
    const channels = clients.map((c) => c.channel(topic, {}));
    const got = channels.map((c) => collect<{ from: string }>(c, 'msg'));
    const presence = new Presence(channels[0]!);
    for (const c of channels) assert.equal((await join(c)).status, 'ok');
    await eventually('every user present', () => presentUsers(presence).join() === users.join());
    for (const [i, c] of channels.entries())
      assert.equal((await push(c, 'msg', { from: users[i]! })).status, 'ok');
    await eventually('three messages at every client', () => got.every((g) => g.length >= 3), 20_000);
    for (const g of got) assert.deepEqual(g.map((m) => m.from).sort(), users);
    // Polls and posts of one session reached the worker that does not hold it: relayed there.
    const text = await scrape(sb);
    const relayed = [
      ...text.matchAll(/^switchboard_longpoll_requests_total\{[^}]*route="relayed"[^}]*\} (\d+)/gm),
    ];
    assert.ok(relayed.reduce((n, m) => n + Number(m[1]), 0) > 0, 'some LongPoll requests were relayed');
  });

  test('a killed worker is replaced and the pod is ready again', async () => {
    const token = await workerTestToken('kim');
    const raw = await openRaw(sb.socketUrl, token);
    raws.push(raw);
    const victim = await pidOfRaw(raw);
    process.kill(victim, 'SIGKILL');
    await raw.closed;
    await eventually(
      'a restart logged',
      () => sb.output().includes('worker exited: starting another'),
      30_000,
    );
    await eventually(
      'ready with two workers',
      async () => {
        const res = await fetch(`${sb.metricsUrl}/readyz`);
        const body = (await res.json()) as { readyWorkers: number };
        return res.status === 200 && body.readyWorkers === 2;
      },
      60_000,
    );
    // A new connection lands on a live worker, never the dead one.
    const again = await openRaw(sb.socketUrl, token);
    raws.push(again);
    assert.notEqual(await pidOfRaw(again), victim);
  });
});

describe('WORKERS=2 share drain', () => {
  let sb: SwitchboardProcess;
  before(async () => {
    sb = await startPod();
  });
  after(() => sb?.kill());

  test('POST /api/drain on one worker closes the share of every worker and the pod stays ready', async () => {
    const token = await workerTestToken('sam');
    const opened: RawClient[] = [];
    const pids = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const raw = await openRaw(sb.socketUrl, token);
      opened.push(raw);
      pids.add(await pidOfRaw(raw));
    }
    assert.equal(pids.size, 2, 'the four connections are spread over both workers');
    const res = await fetch(`${sb.httpUrl}/api/drain`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ percent: 100, window_ms: 500 }),
    });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { status: 'draining', closing: 4, window_ms: 500 });
    const codes = await Promise.all(opened.map((r) => within(20_000, 'close', r.closed)));
    assert.deepEqual(new Set(codes.map((c) => c.code)), new Set([1012]));
    assert.equal((await fetch(`${sb.metricsUrl}/readyz`)).status, 200);
  });
});

describe('WORKERS=2 shutdown', () => {
  test('workers that keep dying end the pod: more than 5 restarts in a minute and the primary exits 1', async () => {
    const sb = await startPod();
    try {
      const primary = sb.proc.child.pid!;
      const killed = new Set<number>();
      // Kill every worker as soon as it exists, until the primary gives up.
      await eventually(
        'the primary exits',
        () => {
          if (sb.proc.child.exitCode !== null) return true;
          for (const pid of childPids(primary)) {
            if (killed.has(pid)) continue;
            killed.add(pid);
            process.kill(pid, 'SIGKILL');
          }
          return false;
        },
        120_000,
      );
      assert.equal(sb.proc.child.exitCode, 1);
      assert.match(sb.output(), /more than 5 restarts in a minute, the pod exits/);
      // Two at the start plus five replacements were killed; the sixth exit ended the pod.
      assert.ok(killed.size >= 6 && killed.size <= 8, `killed ${killed.size} workers`);
    } finally {
      await sb.kill();
    }
  });

  test('SIGTERM to the primary closes the connections of every worker with 1012 and exits 0', async () => {
    const sb = await startPod({ DRAIN_WINDOW_MS: '1000' });
    const raws: RawClient[] = [];
    try {
      const token = await workerTestToken('dora');
      const pids = new Set<number>();
      await eventually('clients on both workers', async () => {
        const raw = await openRaw(sb.socketUrl, token);
        raws.push(raw);
        pids.add(await pidOfRaw(raw));
        return pids.size === 2;
      });
      const exit = sb.stop('SIGTERM', 30_000);
      const codes = await Promise.all(raws.map((r) => within(20_000, 'close', r.closed)));
      assert.deepEqual(new Set(codes.map((c) => c.code)), new Set([1012]));
      assert.deepEqual(await exit, { code: 0, signal: null });
      assert.match(sb.output(), /"msg":"bye"/);
    } finally {
      await sb.kill();
    }
  });
});

/** The primary's child processes (its workers), from /proc. */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (text) children.push(...text.split(/\s+/).map(Number));
  }
  return children;
}

async function scrape(sb: SwitchboardProcess): Promise<string> {
  const res = await fetch(`${sb.metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

function valueOf(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}
