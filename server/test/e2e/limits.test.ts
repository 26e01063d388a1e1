// Per-connection limits with real sockets: frame size (1009), malformed frames (1007), topics per
// connection, rate limit (reply, then 4029), heartbeat timeout (4000) and the slow consumer (4008)
// while a normal client on the same topic keeps receiving.
import assert from 'node:assert/strict';
import type { Socket as NetSocket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { collect, connect, eventually, join, within } from '../support/phoenix.js';
import { openRaw } from '../support/raw-client.js';

async function metric(sb: SwitchboardProcess, line: RegExp): Promise<number> {
  const text = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
  const m = new RegExp(`^${line.source} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('limits', () => {
  let sb: SwitchboardProcess;
  let token: string;
  before(async () => {
    sb = await startSwitchboard({
      MAX_FRAME_BYTES: '2048',
      OUTBOUND_QUEUE_MAX_BYTES: '1048576',
      MAX_TOPICS_PER_CONNECTION: '3',
      RATE_LIMIT_PER_SECOND: '5',
      RATE_LIMIT_BURST: '10',
    });
    token = await signToken({ sub: 'limited', join: ['room:*'], publish: ['room:*'] });
  });
  after(() => sb.stop());

  test('a frame over MAX_FRAME_BYTES closes the connection with 1009', async () => {
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['1', '1', 'room:big', 'phx_join', {}]);
    await raw.waitFor((f) => f[1] === '1', 'join reply');
    raw.send(['1', '2', 'room:big', 'blob', { data: 'x'.repeat(3000) }]);
    assert.equal((await within(30_000, 'close 1009', raw.closed)).code, 1009);
    assert.ok((await metric(sb, /switchboard_frames_rejected_total\{reason="too_large"\}/)) >= 1);
    assert.ok((await metric(sb, /switchboard_disconnects_total\{code="1009"\}/)) >= 1);
  });

  test('a malformed frame closes with 1007; so does invalid UTF-8 in a text frame', async () => {
    const raw = await openRaw(sb.socketUrl, token);
    raw.ws.send('{"not":"an array"}');
    assert.equal((await within(30_000, 'close 1007', raw.closed)).code, 1007);
    const utf8 = await openRaw(sb.socketUrl, token);
    utf8.ws.send(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), { binary: false });
    assert.equal((await within(30_000, 'close 1007', utf8.closed)).code, 1007);
    const bin = await openRaw(sb.socketUrl, token);
    bin.ws.send(Buffer.from([2, 1, 1, 0x61, 0x62]), { binary: true });
    assert.equal((await within(30_000, 'close 1007', bin.closed)).code, 1007);
    assert.ok((await metric(sb, /switchboard_frames_rejected_total\{reason="malformed"\}/)) >= 3);
  });

  test('MAX_TOPICS_PER_CONNECTION: the next join is refused, rejoining a joined topic is not', async () => {
    const s = await connect(sb.socketUrl, { params: { token } });
    try {
      for (const t of ['room:t1', 'room:t2', 'room:t3'])
        assert.equal((await join(s.channel(t, {}))).status, 'ok');
      assert.deepEqual(await join(s.channel('room:t4', {})), {
        status: 'error',
        response: { reason: 'too many topics' },
      });
      const raw = await openRaw(sb.socketUrl, token);
      for (let i = 1; i <= 3; i++) raw.send([`${i}`, `${i}`, `room:r${i}`, 'phx_join', {}]);
      await raw.waitFor((f) => f[1] === '3' && f[3] === 'phx_reply', 'third join');
      raw.send(['9', '9', 'room:r2', 'phx_join', {}]);
      assert.deepEqual((await raw.waitFor((f) => f[1] === '9', 'rejoin'))[4], { status: 'ok', response: {} });
      raw.ws.close();
    } finally {
      s.disconnect();
    }
  });

  test('WebSocket pings are answered with pongs and count against the rate: a ping flood closes with 4029', async () => {
    const raw = await openRaw(sb.socketUrl, token);
    const pong = new Promise<Buffer>((resolve) => raw.ws.once('pong', resolve));
    raw.ws.ping(Buffer.from('are you there'));
    assert.equal((await within(10_000, 'pong', pong)).toString(), 'are you there');
    for (let i = 0; i < 60; i++) raw.ws.ping();
    assert.equal((await within(30_000, 'close 4029', raw.closed)).code, 4029);
  });

  test('over the rate: "rate limited" replies; persisting closes with 4029', async () => {
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['1', '1', 'room:rate', 'phx_join', {}]);
    await raw.waitFor((f) => f[1] === '1', 'join reply');
    for (let i = 0; i < 12; i++) raw.send(['1', `p${i}`, 'room:rate', 'ev', { i }]);
    const limited = await raw.waitFor(
      (f) => f[3] === 'phx_reply' && JSON.stringify(f[4]).includes('rate limited'),
      'a rate limited reply',
    );
    assert.deepEqual(limited[4], { status: 'error', response: { reason: 'rate limited' } });
    const oks = raw.frames.filter(
      (f) =>
        Array.isArray(f) &&
        f[3] === 'phx_reply' &&
        String(f[1]).startsWith('p') &&
        (f[4] as { status: string }).status === 'ok',
    );
    assert.ok(oks.length >= 8 && oks.length <= 11, `burst accepted ${oks.length}`);
    for (let i = 0; i < 40; i++) raw.send(['1', `q${i}`, 'room:rate', 'ev', { i }]);
    assert.equal((await within(30_000, 'close 4029', raw.closed)).code, 4029);
    assert.ok((await metric(sb, /switchboard_frames_rejected_total\{reason="rate_limited"\}/)) >= 10);
  });
});

describe('heartbeat timeout', () => {
  test('a silent connection is closed with 4000; a heartbeating one stays', async () => {
    const sb = await startSwitchboard({ HEARTBEAT_TIMEOUT_MS: '600' });
    try {
      const token = await signToken({ sub: 'quiet' });
      const silent = await openRaw(sb.socketUrl, token);
      const chatty = await openRaw(sb.socketUrl, token);
      let ref = 0;
      const beat = setInterval(() => chatty.send([null, String(++ref), 'phoenix', 'heartbeat', {}]), 100);
      try {
        assert.equal((await within(30_000, 'close 4000', silent.closed)).code, 4000);
        // The silent one needed at least one full timeout; the chatty one is still open after it.
        assert.equal(chatty.ws.readyState, chatty.ws.OPEN);
        // Still open after more than another full timeout: 8 more heartbeats (every 100 ms) answered.
        const answered = () => chatty.frames.filter((f) => Array.isArray(f) && f[2] === 'phoenix').length;
        const before = answered();
        await eventually('8 more heartbeat replies', () => answered() >= before + 8, 20_000);
        assert.equal(chatty.ws.readyState, chatty.ws.OPEN);
      } finally {
        clearInterval(beat);
        chatty.ws.close();
      }
    } finally {
      await sb.stop();
    }
  });
});

describe('slow consumer', () => {
  test('a client that stops reading is closed with 4008; a normal client keeps receiving everything', async () => {
    const sb = await startSwitchboard({ OUTBOUND_QUEUE_MAX_BYTES: '1048576' });
    let normal: Awaited<ReturnType<typeof connect>> | undefined;
    try {
      const token = await signToken({ sub: 'reader', join: ['room:*'] });
      normal = await connect(sb.socketUrl, { params: { token } });
      const ch = normal.channel('room:firehose', {});
      await join(ch);
      const received = collect<{ i: number }>(ch, 'chunk');

      const slow = await openRaw(sb.socketUrl, token);
      slow.send(['1', '1', 'room:firehose', 'phx_join', {}]);
      await slow.waitFor((f) => f[1] === '1', 'slow join reply');
      const underlying = (slow.ws as unknown as { _socket: NetSocket })._socket;
      underlying.pause();

      // Publish until the server gives up on the slow client. How much that takes depends on the
      // kernel's loopback buffers (several MB, autotuned), so there is no fixed count.
      const filler = 'y'.repeat(60_000);
      let total = 0;
      while ((await metric(sb, /switchboard_slow_consumer_closes_total/)) < 1) {
        assert.ok(total < 5000, 'the slow consumer was closed before 300 MB were published');
        for (let i = 0; i < 20; i++, total++) {
          const res = await fetch(`${sb.httpUrl}/api/broadcast`, {
            method: 'POST',
            headers: { authorization: `Bearer ${testSecrets.apiToken}` },
            body: JSON.stringify({ topic: 'room:firehose', event: 'chunk', payload: { i: total, filler } }),
          });
          assert.equal(res.status, 202);
        }
      }
      await eventually('the normal client received every chunk', () => received.length === total, 120_000);
      assert.deepEqual(
        received.map((r) => r.i),
        Array.from({ length: total }, (_, i) => i),
        'in order, none lost',
      );
      underlying.resume();
      assert.equal((await within(30_000, 'slow client close', slow.closed)).code, 4008);
      // The server counts the disconnect when its socket closes, a moment after the client saw the frame.
      await eventually(
        'disconnect 4008 counted',
        async () => (await metric(sb, /switchboard_disconnects_total\{code="4008"\}/)) >= 1,
      );
    } finally {
      // A phoenix socket left open reconnects forever and keeps this test file's process alive.
      normal?.disconnect();
      await sb.stop();
    }
  });
});
