// The Phoenix Channels V2 contract, judged by the OFFICIAL `phoenix` client against the real server process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';
import {
  Presence,
  connect,
  eventually,
  join,
  next,
  presentUsers,
  push,
  type Socket,
  within,
} from '../support/phoenix.js';
import { openRaw } from '../support/raw-client.js';

let sb: SwitchboardProcess;
const sockets: Socket[] = [];

async function client(sub: string, claims: { join?: string[]; publish?: string[] } = {}) {
  const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'], ...claims });
  const socket = await connect(sb.socketUrl, { params: { token } });
  sockets.push(socket);
  return socket;
}

describe('phoenix channels over the official client', () => {
  before(async () => {
    sb = await startSwitchboard({ PRESENCE_BATCH_MS: '20' });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await sb.stop();
  });

  test('join replies ok, push gets an ok reply and reaches every subscriber, including the sender', async () => {
    const a = await client('alice');
    const b = await client('bob');
    const ca = a.channel('room:chat', {});
    const cb = b.channel('room:chat', {});
    assert.equal((await join(ca)).status, 'ok');
    assert.equal((await join(cb)).status, 'ok');
    const atB = next<{ body: string }>(cb, 'new_msg');
    const atA = next<{ body: string }>(ca, 'new_msg');
    const reply = await push(ca, 'new_msg', { body: 'hello' });
    assert.deepEqual(reply, { status: 'ok', response: {} });
    assert.deepEqual(await atB, { body: 'hello' });
    assert.deepEqual(await atA, { body: 'hello' });
  });

  test('leave replies ok, closes the channel and stops deliveries', async () => {
    // The leaver is a raw client: the official one drops frames for a closed channel, so it could
    // not see a delivery the server still sends after the leave.
    const raw = await openRaw(sb.socketUrl, await signToken({ sub: 'alice', join: ['room:*'] }));
    const b = await client('bob');
    const cb = b.channel('room:leave', {});
    raw.send(['1', '1', 'room:leave', 'phx_join', {}]);
    await raw.waitFor((f) => f[1] === '1' && f[3] === 'phx_reply', 'join reply');
    await join(cb);
    const before = next(cb, 'before_leave');
    await push(cb, 'before_leave', {});
    await before;
    await raw.waitFor((f) => f[3] === 'before_leave', 'a delivery while joined');
    raw.send(['1', '2', 'room:leave', 'phx_leave', {}]);
    const left = await raw.waitFor((f) => f[1] === '2', 'leave reply');
    assert.deepEqual(left, ['1', '2', 'room:leave', 'phx_reply', { status: 'ok', response: {} }]);
    await raw.waitFor((f) => f[3] === 'phx_close', 'phx_close');
    const atB = next(cb, 'after_leave');
    await push(cb, 'after_leave', {});
    await atB;
    // Frames to one connection go out in order: a delivery sent before this reply arrives before it.
    raw.send([null, '3', 'phoenix', 'heartbeat', {}]);
    await raw.waitFor((f) => f[1] === '3', 'heartbeat reply');
    assert.deepEqual(
      raw.frames.filter((f) => Array.isArray(f) && f[3] === 'after_leave'),
      [],
      'no delivery after the leave',
    );
    raw.ws.close();
  });

  test('heartbeat gets a phx_reply ok on the phoenix topic (raw frames)', async () => {
    const token = await signToken({ sub: 'raw', join: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send([null, '7', 'phoenix', 'heartbeat', {}]);
    const reply = await raw.waitFor((f) => f[1] === '7', 'heartbeat reply');
    assert.deepEqual(reply, [null, '7', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    raw.ws.close();
  });

  test('the official client measures a ping (heartbeat round trip)', async () => {
    const a = await client('pinger');
    const rtt = await within(
      10_000,
      'ping',
      new Promise<number>((resolve) => a.ping((ms: number) => resolve(ms))),
    );
    assert.ok(rtt >= 0);
  });

  test('unmatched topic: error reply with reason "unmatched topic" and join_ref null', async () => {
    const a = await client('alice');
    assert.deepEqual(await join(a.channel('nope:x', {})), {
      status: 'error',
      response: { reason: 'unmatched topic' },
    });
    const token = await signToken({ sub: 'raw', join: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['1', '1', 'nope:y', 'phx_join', {}]);
    assert.deepEqual(await raw.waitFor((f) => f[1] === '1', 'join reply'), [
      null,
      '1',
      'nope:y',
      'phx_reply',
      { status: 'error', response: { reason: 'unmatched topic' } },
    ]);
    raw.send(['2', '2', 'room:not-joined', 'some_event', {}]);
    assert.deepEqual(await raw.waitFor((f) => f[1] === '2', 'push reply'), [
      '2',
      '2',
      'room:not-joined',
      'phx_reply',
      { status: 'error', response: { reason: 'unmatched topic' } },
    ]);
    raw.ws.close();
  });

  test('a topic outside room:* is routed when the token permits it', async () => {
    const a = await client('carol', { join: ['private:carol'], publish: [] });
    assert.equal((await join(a.channel('private:carol', {}))).status, 'ok');
  });

  test('unauthorized join: claims that do not permit the topic get reason "unauthorized"', async () => {
    const a = await client('mallory', { join: ['room:public'], publish: [] });
    assert.deepEqual(await join(a.channel('room:secret', {})), {
      status: 'error',
      response: { reason: 'unauthorized' },
    });
    const ok = a.channel('room:public', {});
    assert.equal((await join(ok)).status, 'ok');
    assert.deepEqual(await push(ok, 'new_msg', { x: 1 }), {
      status: 'error',
      response: { reason: 'unauthorized' },
    });
  });

  test('reserved events cannot be pushed by clients', async () => {
    const a = await client('alice');
    const ch = a.channel('room:reserved', {});
    await join(ch);
    assert.deepEqual(await push(ch, 'presence_diff', { joins: {}, leaves: {} }), {
      status: 'error',
      response: { reason: 'reserved event' },
    });
  });

  test('duplicate join: phx_close goes to the old join_ref, the new join proceeds', async () => {
    const token = await signToken({ sub: 'dup', join: ['room:*'], publish: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['1', '1', 'room:dup', 'phx_join', {}]);
    await raw.waitFor((f) => f[1] === '1' && f[3] === 'phx_reply', 'first join reply');
    raw.send(['2', '2', 'room:dup', 'phx_join', {}]);
    const close = await raw.waitFor((f) => f[3] === 'phx_close', 'phx_close of the old join');
    assert.deepEqual(close, ['1', '1', 'room:dup', 'phx_close', {}]);
    const second = await raw.waitFor((f) => f[1] === '2' && f[3] === 'phx_reply', 'second join reply');
    assert.deepEqual(second, ['2', '2', 'room:dup', 'phx_reply', { status: 'ok', response: {} }]);
    const closeAt = raw.frames.indexOf(close);
    assert.ok(closeAt < raw.frames.indexOf(second), 'phx_close comes before the new join reply');
    // The new join is live: a push with the new join_ref is accepted and broadcast.
    raw.send(['2', '3', 'room:dup', 'ping', { n: 1 }]);
    await raw.waitFor((f) => f[0] === null && f[3] === 'ping', 'broadcast after rejoin');
    raw.send(['1', '4', 'room:dup', 'ping', { n: 2 }]);
    assert.deepEqual(await raw.waitFor((f) => f[1] === '4', 'reply to stale join_ref'), [
      '1',
      '4',
      'room:dup',
      'phx_reply',
      { status: 'error', response: { reason: 'unmatched topic' } },
    ]);
    raw.ws.close();
  });

  test('leave over raw frames: ok reply, then phx_close with the join_ref', async () => {
    const token = await signToken({ sub: 'leaver', join: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['3', '3', 'room:lobby', 'phx_join', {}]);
    await raw.waitFor((f) => f[1] === '3' && f[3] === 'phx_reply', 'join reply');
    raw.send(['3', '5', 'room:lobby', 'phx_leave', {}]);
    const reply = await raw.waitFor((f) => f[1] === '5', 'leave reply');
    assert.deepEqual(reply, ['3', '5', 'room:lobby', 'phx_reply', { status: 'ok', response: {} }]);
    const close = await raw.waitFor((f) => f[3] === 'phx_close', 'phx_close');
    assert.deepEqual(close, ['3', '3', 'room:lobby', 'phx_close', {}]);
    assert.ok(raw.frames.indexOf(reply) < raw.frames.indexOf(close));
    raw.ws.close();
  });

  test('binary push: ok reply to the sender, binary broadcast frame to every subscriber', async () => {
    const a = await client('bin-a');
    const b = await client('bin-b');
    const ca = a.channel('room:binary', {});
    const cb = b.channel('room:binary', {});
    await join(ca);
    await join(cb);
    const atB = next<ArrayBuffer>(cb, 'blob');
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const reply = await within(
      10_000,
      'binary push reply',
      new Promise<string>((resolve) =>
        ca.push('blob', bytes.buffer as unknown as object).receive('ok', () => resolve('ok')),
      ),
    );
    assert.equal(reply, 'ok');
    const got = await atB;
    assert.ok(got instanceof ArrayBuffer, 'delivered as binary');
    assert.deepEqual([...new Uint8Array(got)], [0, 1, 2, 250, 255]);

    const token = await signToken({ sub: 'bin-raw', join: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['1', '1', 'room:binary', 'phx_join', {}]);
    await raw.waitFor((f) => f[1] === '1', 'join reply');
    ca.push('blob', new Uint8Array([7]).buffer as unknown as object);
    const frame = await raw.waitForBinary('binary broadcast frame');
    assert.deepEqual(
      [...frame],
      [2, 11, 4, ...Buffer.from('room:binaryblob'), 7],
      'kind 2, lengths, fields, payload',
    );
    raw.ws.close();
  });

  test('presence: two users see each other, then the leave diff', async () => {
    const a = await client('ann');
    const b = await client('ben');
    const ca = a.channel('room:presence', { meta: { status: 'busy' } });
    const pa = new Presence(ca);
    await join(ca);
    await eventually('ann sees herself', () => presentUsers(pa).join() === 'ann');
    const cb = b.channel('room:presence', {});
    const pb = new Presence(cb);
    await join(cb);
    await eventually('ben sees ann and ben', () => presentUsers(pb).join() === 'ann,ben');
    await eventually('ann sees ann and ben', () => presentUsers(pa).join() === 'ann,ben');
    const annAtBen: { key: string; metas: Record<string, unknown>[] }[] = pb.list(
      (key: string, p: { metas: Record<string, unknown>[] }) => ({ key, metas: p.metas }),
    );
    const annMeta = annAtBen.find((e) => e.key === 'ann')?.metas[0] ?? {};
    assert.equal(annMeta.status, 'busy', 'join param meta is part of the presence meta');
    assert.equal(typeof annMeta.phx_ref, 'string');
    assert.equal(typeof annMeta.online_at, 'string');
    const left: string[] = [];
    pa.onLeave((key?: string) => left.push(key ?? ''));
    await within(
      10_000,
      'ben leaves',
      new Promise<void>((resolve) => cb.leave().receive('ok', () => resolve())),
    );
    await eventually('ann sees ben leave', () => presentUsers(pa).join() === 'ann');
    assert.deepEqual(left, ['ben']);
  });

  test('presence_state carries the join_ref and comes after the join reply', async () => {
    const token = await signToken({ sub: 'dora', join: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['9', '9', 'room:state', 'phx_join', {}]);
    const state = await raw.waitFor((f) => f[3] === 'presence_state', 'presence_state');
    const reply = await raw.waitFor((f) => f[1] === '9', 'join reply');
    assert.ok(raw.frames.indexOf(reply) < raw.frames.indexOf(state));
    assert.equal(state[0], '9');
    assert.equal(state[1], null);
    assert.deepEqual(Object.keys(state[4] as object), ['dora']);
    raw.ws.close();
  });

  test('a disconnecting user leaves presence for the others', async () => {
    const a = await client('eve');
    const ca = a.channel('room:gone', {});
    const pa = new Presence(ca);
    await join(ca);
    const token = await signToken({ sub: 'fred', join: ['room:*'] });
    const raw = await openRaw(sb.socketUrl, token);
    raw.send(['1', '1', 'room:gone', 'phx_join', {}]);
    await eventually('eve sees fred', () => presentUsers(pa).join() === 'eve,fred');
    raw.ws.terminate();
    await eventually('fred gone', () => presentUsers(pa).join() === 'eve');
  });
});
