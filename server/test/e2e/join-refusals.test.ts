// The join refusals and the leave rules of docs/protocol.md ("Joining", "Leaving", "Presence"),
// each against the real server process with raw frames, so the exact reply is what is judged:
// params that are not an object, a `meta` that is not an object of at most 1 KiB, meta keys that
// try to replace `phx_ref`/`online_at`, a leave of a topic that is not joined, and `join failed`
// when the broker cannot subscribe (Redis killed under a node with BROKER=redis).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startRedis,
  startSwitchboard,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const META_LIMIT = 1024;

/** Sends a join and resolves with its reply payload. */
async function joinReply(c: RawClient, ref: string, topic: string, params: unknown): Promise<unknown> {
  c.send([ref, ref, topic, 'phx_join', params]);
  const reply = await c.waitFor((f) => f[1] === ref && f[3] === 'phx_reply', `join reply ${ref}`);
  assert.equal(reply[0], ref, 'the refusal carries the join_ref');
  assert.equal(reply[2], topic);
  return reply[4];
}

const refused = (reason: string) => ({ status: 'error', response: { reason } });

/**
 * Everything the server sent before this point has arrived: frames to one connection go out in
 * order, so once the heartbeat reply is here, an earlier frame would be too.
 */
async function settle(c: RawClient, ref: string): Promise<void> {
  c.send([null, ref, 'phoenix', 'heartbeat', {}]);
  await c.waitFor((f) => f[1] === ref && f[2] === 'phoenix', 'heartbeat reply');
}

describe('join refusals and leaves (memory broker)', () => {
  let sb: SwitchboardProcess;
  const clients: RawClient[] = [];
  const client = async (sub: string) => {
    const c = await openRaw(sb.socketUrl, await signToken({ sub, join: ['room:*'], publish: ['room:*'] }));
    clients.push(c);
    return c;
  };
  before(async () => {
    sb = await startSwitchboard({ LOG_LEVEL: 'warn' });
  });
  after(async () => {
    for (const c of clients) c.ws.close();
    await sb?.stop();
  });

  test('join params that are not a JSON object are refused, and the topic stays unjoined', async () => {
    const c = await client('params');
    const cases: [string, unknown][] = [
      ['array', []],
      ['string', 'x'],
      ['number', 42],
      ['null', null],
      ['boolean', true],
    ];
    for (const [what, params] of cases) {
      assert.deepEqual(
        await joinReply(c, `p-${what}`, 'room:params', params),
        refused('join params must be a JSON object'),
        what,
      );
    }
    // Refused means not joined: a push on the topic is answered as for any unjoined topic.
    c.send(['p-null', 'push', 'room:params', 'msg', {}]);
    const push = await c.waitFor((f) => f[1] === 'push', 'push reply');
    assert.deepEqual(push[4], refused('unmatched topic'));
    // The same connection can still join with an object.
    assert.deepEqual(await joinReply(c, 'p-ok', 'room:params', {}), { status: 'ok', response: {} });
  });

  test('meta must be a JSON object of at most 1024 bytes: bigger or not an object is refused, 1024 is accepted', async () => {
    const c = await client('meta');
    const reason = `meta must be a JSON object of at most ${META_LIMIT} bytes`;
    // {"b":"xxx..."} is 8 bytes plus the string.
    const ofBytes = (n: number) => ({ b: 'x'.repeat(n - 8) });
    assert.equal(JSON.stringify(ofBytes(META_LIMIT)).length, META_LIMIT);
    const cases: [string, unknown][] = [
      ['1025 bytes', ofBytes(META_LIMIT + 1)],
      ['multi-byte characters over 1024 bytes', { b: 'é'.repeat(600) }],
      ['a string', 'online'],
      ['an array', ['online']],
      ['null', null],
      ['a number', 1],
    ];
    for (const [what, meta] of cases) {
      assert.deepEqual(await joinReply(c, `m-${what}`, 'room:meta', { meta }), refused(reason), what);
    }
    assert.deepEqual(await joinReply(c, 'm-ok', 'room:meta', { meta: ofBytes(META_LIMIT) }), {
      status: 'ok',
      response: {},
    });
    const state = await c.waitFor((f) => f[3] === 'presence_state' && f[0] === 'm-ok', 'presence_state');
    const metas = (state[4] as Record<string, { metas: Record<string, unknown>[] }>).meta?.metas ?? [];
    assert.equal(metas.length, 1);
    assert.equal(metas[0]!.b, ofBytes(META_LIMIT).b, 'the accepted meta is in presence');
  });

  test('meta keys cannot replace phx_ref or online_at; the server sets both', async () => {
    const c = await client('forger');
    const watcher = await client('watcher');
    assert.deepEqual(await joinReply(watcher, 'w', 'room:forge', {}), { status: 'ok', response: {} });
    await watcher.waitFor((f) => f[3] === 'presence_state', 'watcher presence_state');
    const before = Math.floor(Date.now() / 1000);
    const meta = { phx_ref: 'forged-ref', online_at: '1', status: 'away' };
    assert.deepEqual(await joinReply(c, 'f', 'room:forge', { meta }), { status: 'ok', response: {} });
    const after = Math.floor(Date.now() / 1000);

    const check = (metas: Record<string, unknown>[] | undefined, where: string) => {
      assert.equal(metas?.length, 1, where);
      const m = metas[0]!;
      assert.equal(m.status, 'away', `${where}: the other keys are kept`);
      assert.equal(typeof m.phx_ref, 'string', where);
      assert.notEqual(m.phx_ref, 'forged-ref', `${where}: phx_ref is the server's`);
      const at = Number(m.online_at);
      assert.ok(
        typeof m.online_at === 'string' && at >= before && at <= after,
        `${where}: online_at ${String(m.online_at)} is the join time (${before}..${after})`,
      );
      return m.phx_ref;
    };
    const state = await c.waitFor((f) => f[3] === 'presence_state', 'presence_state');
    const own = check(
      (state[4] as Record<string, { metas: Record<string, unknown>[] }>).forger?.metas,
      'state',
    );
    // The other members see the same meta in the diff.
    const diff = await watcher.waitFor(
      (f) => f[3] === 'presence_diff' && JSON.stringify(f[4]).includes('forger'),
      'presence_diff with the forger',
    );
    const joins = (diff[4] as { joins: Record<string, { metas: Record<string, unknown>[] }> }).joins;
    assert.equal(check(joins.forger?.metas, 'diff'), own, 'the same phx_ref in state and diff');
  });

  test('a leave of a topic that is not joined is answered ok, with no phx_close, and changes nothing', async () => {
    const c = await client('leaver');
    c.send(['x', 'l1', 'room:never-joined', 'phx_leave', {}]);
    const reply = await c.waitFor((f) => f[1] === 'l1', 'leave reply');
    assert.deepEqual(reply, ['x', 'l1', 'room:never-joined', 'phx_reply', { status: 'ok', response: {} }]);
    // A leave with a join_ref that is not the current join's is also ok and leaves the join alone.
    assert.deepEqual(await joinReply(c, 'j', 'room:kept', {}), { status: 'ok', response: {} });
    c.send(['stale', 'l2', 'room:kept', 'phx_leave', {}]);
    const stale = await c.waitFor((f) => f[1] === 'l2', 'stale leave reply');
    assert.deepEqual(stale[4], { status: 'ok', response: {} });
    await settle(c, 'hb');
    assert.deepEqual(
      c.frames.filter((f) => Array.isArray(f) && f[3] === 'phx_close'),
      [],
      'no phx_close for a topic that was not joined, nor for the current join',
    );
    c.send(['j', 'push', 'room:kept', 'still_here', {}]);
    assert.deepEqual((await c.waitFor((f) => f[1] === 'push', 'push reply'))[4], {
      status: 'ok',
      response: {},
    });
    await c.waitFor((f) => f[3] === 'still_here', 'the join still receives broadcasts');
  });
});

describe('join failed: the broker cannot subscribe (BROKER=redis, Redis killed)', () => {
  let redis: RedisServer;
  let sb: SwitchboardProcess;
  before(async () => {
    redis = await startRedis();
    sb = await startSwitchboard(
      { BROKER: 'redis', REDIS_URL: redis.url, LOG_LEVEL: 'warn' },
      { readyTimeoutMs: 60_000 },
    );
  });
  after(async () => {
    await sb?.stop();
    await redis?.stop();
  });

  test('a join while Redis is down is refused with "join failed"; the retry after Redis is back joins', async () => {
    const c = await openRaw(sb.socketUrl, await signToken({ sub: 'retry', join: ['room:*'] }));
    try {
      await redis.kill();
      await eventually('node not ready', async () => (await fetch(`${sb.metricsUrl}/readyz`)).status === 503);
      const started = Date.now();
      assert.deepEqual(await joinReply(c, '1', 'room:outage', {}), refused('join failed'));
      // Bounded by the broker's command timeout (2 s), not left hanging.
      assert.ok(Date.now() - started < 9000, `refused after ${Date.now() - started} ms`);
      await settle(c, 'hb');
      assert.equal(
        c.frames.filter((f) => Array.isArray(f) && f[3] === 'presence_state').length,
        0,
        'a failed join is not tracked in presence',
      );
      await redis.restart();
      await eventually(
        'node ready again',
        async () => (await fetch(`${sb.metricsUrl}/readyz`)).status === 200,
        30_000,
      );
      assert.deepEqual(await joinReply(c, '2', 'room:outage', {}), { status: 'ok', response: {} });
    } finally {
      c.ws.close();
    }
  });
});
