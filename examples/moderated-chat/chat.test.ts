// The moderated chat example on two real server processes behind one Redis, judged by the OFFICIAL
// phoenix client: connect refusals, join replies, push replies with server-side validation,
// handleOut (mute and moderation, applied on the node that delivers) and broadcastFrom (the sender
// alone is left out, on its node and across nodes).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Channel, Socket } from 'phoenix';
import {
  signToken,
  startRedis,
  startSwitchboard,
  type RedisServer,
  type SwitchboardProcess,
} from '../../testkit/src/index.js';
import { collect, connect, eventually, join, next, push } from '../../server/test/support/phoenix.js';
import { upgradeAnswer } from '../../server/test/support/upgrade.js';
import { HIDDEN } from './channels.js';

const CHANNELS_MODULE = fileURLToPath(new URL('./channels.ts', import.meta.url));

interface Said {
  id: string;
  nick: string;
  text: string;
  flagged: boolean;
}

describe('examples/moderated-chat on two nodes over Redis', () => {
  let redis: RedisServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  const sockets: Socket[] = [];

  before(async () => {
    redis = await startRedis();
    const env = (id: string) => ({
      BROKER: 'redis',
      REDIS_URL: redis.url,
      NODE_ID: id,
      CHANNELS_MODULE,
      LOG_LEVEL: 'warn',
    });
    [a, b] = await Promise.all([
      startSwitchboard(env('chat-a'), { readyTimeoutMs: 60_000 }),
      startSwitchboard(env('chat-b'), { readyTimeoutMs: 60_000 }),
    ]);
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  async function user(node: SwitchboardProcess, sub: string, nick: string): Promise<Socket> {
    const socket = await connect(node.socketUrl, { params: { token: await signToken({ sub }), nick } });
    sockets.push(socket);
    return socket;
  }

  async function enter(socket: Socket, topic: string, params: object = {}): Promise<Channel> {
    const ch = socket.channel(topic, params);
    const reply = await join(ch);
    assert.equal(reply.status, 'ok', JSON.stringify(reply));
    return ch;
  }

  test('connect refuses a missing or malformed nick with 403 and its reason', async () => {
    const token = await signToken({ sub: 'nobody' });
    const url = `http://127.0.0.1:${a.port}/socket/websocket?vsn=2.0.0&token=${token}`;
    const missing = await upgradeAnswer(url);
    assert.equal(missing.status, 403);
    assert.match(missing.body, /nick of 2 to 20/);
    assert.equal((await upgradeAnswer(`${url}&nick=${encodeURIComponent('no spaces')}`)).status, 403);
    assert.equal((await upgradeAnswer(`${url}&nick=okay`)).status, 101);
  });

  test('join replies with the nick; say is validated and replied to; everyone on both nodes gets it', async () => {
    const alice = await enter(await user(a, 'alice', 'alice'), 'chat:lobby');
    const bobSocket = await user(b, 'bob', 'bob');
    const bob = bobSocket.channel('chat:lobby', {});
    assert.deepEqual(await join(bob), { status: 'ok', response: { nick: 'bob', moderator: false } });
    assert.deepEqual(await push(alice, 'say', { text: '' }), {
      status: 'error',
      response: { reason: 'text must be 1 to 500 characters' },
    });
    assert.equal((await push(alice, 'say', { text: 'x'.repeat(501) })).status, 'error');
    const atBob = next<Said>(bob, 'said');
    const atAlice = next<Said>(alice, 'said');
    const reply = await push(alice, 'say', { text: 'hello' });
    assert.equal(reply.status, 'ok');
    const { id } = reply.response as { id: string };
    assert.deepEqual(await atBob, { id, nick: 'alice', text: 'hello', flagged: false });
    assert.deepEqual(await atAlice, { id, nick: 'alice', text: 'hello', flagged: false });
  });

  test('handleOut: flagged text is hidden from users and shown to moderators, on either node', async () => {
    const topic = 'chat:moderated';
    const alice = await enter(await user(a, 'alice', 'alice'), topic);
    const bob = await enter(await user(b, 'bob', 'bob'), topic);
    const mod = await enter(await user(b, 'moderator', 'mod'), topic);
    const modOnA = await enter(await user(a, 'moderator', 'mod2'), topic);
    const seen = [
      next<Said>(alice, 'said'),
      next<Said>(bob, 'said'),
      next<Said>(mod, 'said'),
      next<Said>(modOnA, 'said'),
    ];
    const reply = await push(bob, 'say', { text: 'cheap CRYPTO here' });
    assert.deepEqual(reply.response, { id: (reply.response as { id: string }).id, flagged: true });
    const [atAlice, atBob, atMod, atModOnA] = (await Promise.all(seen)) as [Said, Said, Said, Said];
    assert.equal(atAlice.text, HIDDEN);
    assert.equal(atBob.text, HIDDEN);
    assert.equal(atMod.text, 'cheap CRYPTO here');
    assert.equal(atModOnA.text, 'cheap CRYPTO here');
    assert.equal(atAlice.flagged, true);
  });

  test('handleOut: a muted nick is dropped for the subscriber who muted it, on either node', async () => {
    const topic = 'chat:mute';
    const aliceSocket = await user(a, 'alice', 'alice');
    const alice = await enter(aliceSocket, topic);
    const bob = await enter(await user(b, 'bob', 'bob'), topic);
    const carolA = await enter(await user(a, 'carol', 'carol'), topic, { muted: ['ALICE'] });
    const carolB = await enter(await user(b, 'carol', 'carol2'), topic, { muted: ['alice'] });
    const atCarolA = collect<Said>(carolA, 'said');
    const atCarolB = collect<Said>(carolB, 'said');
    const atBob = next<Said>(bob, 'said');
    await push(alice, 'say', { text: 'from alice' });
    assert.equal((await atBob).text, 'from alice'); // delivered everywhere before bob speaks
    await push(bob, 'say', { text: 'from bob' });
    await eventually('carol got bob', () => atCarolA.length > 0 && atCarolB.length > 0);
    assert.deepEqual(
      atCarolA.map((m) => m.text),
      ['from bob'],
    );
    assert.deepEqual(
      atCarolB.map((m) => m.text),
      ['from bob'],
    );
    const muted = await push(alice, 'say', { text: 'x' });
    assert.equal(muted.status, 'ok');
    const refused = aliceSocket.channel('chat:mute-2', { muted: 'everyone' });
    assert.equal((await join(refused)).status, 'error');
  });

  test('broadcastFrom: typing reaches everyone but the sending socket, the same user elsewhere included', async () => {
    const topic = 'chat:typing';
    const alice = await enter(await user(a, 'alice', 'alice'), topic);
    const aliceOther = await enter(await user(a, 'alice', 'alice'), topic); // same user, same node
    const bob = await enter(await user(b, 'bob', 'bob'), topic);
    const typingAtAlice = collect(alice, 'typing');
    const saidAtAlice = collect<Said>(alice, 'said');
    const atOther = next(aliceOther, 'typing');
    const atBob = next(bob, 'typing');
    alice.push('typing', {});
    assert.deepEqual(await atOther, { nick: 'alice' });
    assert.deepEqual(await atBob, { nick: 'alice' });
    // Alice's own typing, had it been sent to her, would come before her next message.
    await push(alice, 'say', { text: 'done typing' });
    await eventually('alice got her message', () => saidAtAlice.length > 0);
    assert.deepEqual(typingAtAlice, []);
  });

  test('recovery replays history through handleOut too (muted dropped, flagged hidden)', async () => {
    const topic = 'chat:recover';
    const carolSocket = await user(a, 'carol', 'carol');
    const first = carolSocket.channel(topic, { recover: true, muted: ['alice'] });
    const pos = (await join(first)).response as { epoch: string; offset: number };
    first.leave();
    const alice = await enter(await user(b, 'alice', 'alice'), topic);
    const bob = await enter(await user(a, 'bob', 'bob'), topic);
    const atBob = collect<Said>(bob, 'said');
    await push(alice, 'say', { text: 'muted crypto' });
    await push(bob, 'say', { text: 'plain' });
    await eventually('bob got both', () => atBob.length === 2);
    const carol = carolSocket.channel(`${topic}`, { recover: pos, muted: ['alice'] });
    const atCarol = collect<Said>(carol, 'said');
    const dave = (await user(b, 'dave', 'dave')).channel(topic, { recover: pos });
    const atDave = collect<Said>(dave, 'said');
    assert.equal((await join(carol)).status, 'ok');
    assert.equal((await join(dave)).status, 'ok');
    await eventually('carol recovered', () => atCarol.length >= 1);
    await eventually('dave recovered', () => atDave.length >= 2);
    assert.deepEqual(
      atCarol.map((m) => m.text),
      ['plain'],
    );
    assert.deepEqual(
      atDave.map((m) => m.text),
      [HIDDEN, 'plain'],
    );
  });
});
