// Issue 12 item 9 and its resource bounds: connections per user and per client address are capped
// (HTTP 429 on the upgrade), X-Forwarded-For counts only from TRUSTED_PROXIES, and never-finished
// request heads are cut after HTTP_HEADERS_TIMEOUT_MS. Each cap is driven 10x past its limit for a
// few seconds against a real node; its RSS is read before, during and after (bounds in docs/protocol.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket as NetSocket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, upgradeStatus, type RawClient } from '../support/raw-client.js';
import { rawGet } from '../support/raw-http.js';

const PER_USER = 10;
const PER_ADDRESS = 20;
/** Generous: 10x the cap in refused upgrades must not grow the node by more than this. */
const RSS_GROWTH_BOUND_MB = 64;

function rssMb(sb: SwitchboardProcess): number {
  const status = readFileSync(`/proc/${sb.proc.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** Tries `n` upgrades at once; resolves with the clients that opened and the refusal statuses. */
async function storm(
  sb: SwitchboardProcess,
  tokens: (i: number) => Promise<string>,
  n: number,
  headers: (i: number) => Record<string, string> = () => ({}),
): Promise<{ open: RawClient[]; refused: number[] }> {
  const results = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      try {
        return await openRaw(sb.socketUrl, await tokens(i), { headers: headers(i) });
      } catch (err) {
        return (err as { status?: number }).status ?? -1;
      }
    }),
  );
  return {
    open: results.filter((r): r is RawClient => typeof r !== 'number'),
    refused: results.filter((r): r is number => typeof r === 'number'),
  };
}

async function closeAll(clients: RawClient[]): Promise<void> {
  for (const c of clients) c.ws.close();
  await Promise.all(clients.map((c) => c.closed));
}

describe('connection caps', () => {
  let sb: SwitchboardProcess;
  before(async () => {
    sb = await startSwitchboard({
      MAX_CONNECTIONS_PER_USER: String(PER_USER),
      MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
      HTTP_HEADERS_TIMEOUT_MS: '1000',
    });
  });
  after(async () => {
    await sb?.stop('SIGKILL');
  });

  test(`one token: ${PER_USER * 10} upgrades, ${PER_USER} open, the rest 429; RSS bounded`, async () => {
    const token = await signToken({ sub: 'hog', join: ['room:*'] });
    const before = rssMb(sb);
    let peak = before;
    let afterFirstWave = before;
    const all: RawClient[] = [];
    const refused: number[] = [];
    // Waves for ~3 s: the cap holds while the same user keeps trying.
    for (let wave = 0; wave < 6; wave++) {
      const r = await storm(sb, () => Promise.resolve(token), PER_USER * 10);
      all.push(...r.open);
      refused.push(...r.refused);
      peak = Math.max(peak, rssMb(sb));
      if (wave === 0) afterFirstWave = rssMb(sb);
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.equal(all.length, PER_USER, 'open connections of one user');
    assert.ok(
      refused.every((s) => s === 429),
      `refusals: ${[...new Set(refused)].join(',')}`,
    );
    assert.equal(refused.length, PER_USER * 10 * 6 - PER_USER);
    // Another user is not affected.
    assert.equal(await upgradeStatus(sb.socketUrl, await signToken({ sub: 'other' })), 101);
    await closeAll(all);
    // Slots come back when connections close.
    await eventually('slot back', async () => (await upgradeStatus(sb.socketUrl, token)) === 101);
    const afterMb = rssMb(sb);
    console.log(
      `per-user: RSS before ${before.toFixed(1)} MB, after wave 1 ${afterFirstWave.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${afterMb.toFixed(1)} MB`,
    );
    assert.ok(peak - before < RSS_GROWTH_BOUND_MB, `RSS grew ${peak - before} MB`);
  });

  test(`one address, many users: ${PER_ADDRESS * 10} upgrades, ${PER_ADDRESS} open; X-Forwarded-For ignored from untrusted peers`, async () => {
    const before = rssMb(sb);
    const r = await storm(
      sb,
      (i) => signToken({ sub: `user-${i}` }),
      PER_ADDRESS * 10,
      (i) => ({ 'x-forwarded-for': `10.9.${i >> 8}.${i & 255}` }),
    );
    const peak = rssMb(sb);
    assert.equal(r.open.length, PER_ADDRESS);
    assert.ok(r.refused.every((s) => s === 429));
    await closeAll(r.open);
    await eventually(
      'slots back',
      async () => (await upgradeStatus(sb.socketUrl, await signToken({ sub: 'z' }))) === 101,
    );
    const afterMb = rssMb(sb);
    console.log(
      `per-address: RSS before ${before.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${afterMb.toFixed(1)} MB`,
    );
    assert.ok(peak - before < RSS_GROWTH_BOUND_MB);
  });

  test(`header flood: ${PER_ADDRESS * 15} never-finished request heads are all cut after HTTP_HEADERS_TIMEOUT_MS`, async () => {
    const before = rssMb(sb);
    const sockets: NetSocket[] = [];
    const closedAt: number[] = [];
    const start = Date.now();
    for (let i = 0; i < PER_ADDRESS * 15; i++) {
      const s = tcpConnect(sb.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closedAt.push(Date.now() - start));
      s.write('GET /api/broadcast HTTP/1.1\r\nHost: x\r\n');
      sockets.push(s);
    }
    // Trickle a header line every 200 ms: a slowloris, never ending its head.
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(`X-Slow: ${'a'.repeat(100)}\r\n`);
    }, 200);
    try {
      let peak = before;
      await eventually(
        'every slow head cut',
        () => {
          peak = Math.max(peak, rssMb(sb));
          return closedAt.length === sockets.length;
        },
        8000,
      );
      // The node still serves while and after it happened.
      assert.equal((await rawGet(sb.port, '/')).status, 200);
      const afterMb = rssMb(sb);
      console.log(
        `header flood: ${sockets.length} cut by ${Math.max(...closedAt)} ms; RSS before ${before.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${afterMb.toFixed(1)} MB`,
      );
      assert.ok(peak - before < RSS_GROWTH_BOUND_MB);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
  });

  test('upgrades abandoned mid-handshake give their slots back', async () => {
    const token = await signToken({ sub: 'quitter' });
    const request =
      `GET /socket/websocket?vsn=2.0.0&token=${token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n` +
      'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    for (let i = 0; i < PER_USER * 10; i++) {
      const s = tcpConnect(sb.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(request, () => s.destroy());
    }
    await eventually(
      'the user can connect again',
      async () => (await upgradeStatus(sb.socketUrl, token)) === 101,
    );
    await eventually(
      'the address can connect again',
      async () => (await upgradeStatus(sb.socketUrl, await signToken({ sub: 'after-quitter' }))) === 101,
    );
  });

  test('a request head over 16 KiB is refused with 431', async () => {
    const res = await rawGet(sb.port, '/', { 'x-big': 'a'.repeat(20_000) });
    assert.equal(res.status, 431);
  });
});

describe('per-address cap behind a trusted proxy', () => {
  let sb: SwitchboardProcess;
  before(async () => {
    sb = await startSwitchboard({
      MAX_CONNECTIONS_PER_ADDRESS: '2',
      MAX_CONNECTIONS_PER_USER: '1000',
      TRUSTED_PROXIES: '127.0.0.1/32',
    });
  });
  after(async () => {
    await sb?.stop('SIGKILL');
  });

  test('X-Forwarded-For from a trusted proxy names the client; forged entries to its left do not', async () => {
    const token = await signToken({ sub: 'u' });
    const viaProxy = (xff: string) => openRaw(sb.socketUrl, token, { headers: { 'x-forwarded-for': xff } });
    const a = [await viaProxy('203.0.113.1'), await viaProxy('203.0.113.1')];
    assert.equal(
      await upgradeStatus(sb.socketUrl, token, { headers: { 'x-forwarded-for': '203.0.113.1' } }),
      429,
    );
    // A forged left-most entry does not get the client a fresh slot: the proxy's hop is counted.
    assert.equal(
      await upgradeStatus(sb.socketUrl, token, {
        headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.1' },
      }),
      429,
    );
    const b = await viaProxy('203.0.113.2');
    await closeAll([...a, b]);
  });
});
