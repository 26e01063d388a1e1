// The LongPoll transport, judged by the OFFICIAL `phoenix` client forced to LongPoll (it uses
// Node's fetch), against the real server process: the same sessions, channels, presence and
// recovery as the WebSocket path.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { Presence, Socket, connect, eventually, join, next, presentUsers, push } from '../support/phoenix.js';

let sb: SwitchboardProcess;
const sockets: Socket[] = [];

async function lpClient(sub: string): Promise<Socket> {
  const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
  const socket = await connect(sb.socketUrl, {
    params: { token },
    transport: LongPoll as unknown as SocketConnectOption['transport'],
  });
  sockets.push(socket);
  return socket;
}

async function wsClient(sub: string): Promise<Socket> {
  const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
  const socket = await connect(sb.socketUrl, { params: { token } });
  sockets.push(socket);
  return socket;
}

const lpUrl = () => `${sb.httpUrl}/socket/longpoll?vsn=2.0.0`;

describe('LongPoll transport with the official client', () => {
  before(async () => {
    sb = await startSwitchboard({ PRESENCE_BATCH_MS: '20' });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await sb.stop();
  });

  test('a LongPoll client joins, pushes, and exchanges broadcasts with a WebSocket client', async () => {
    const lp = await lpClient('alice');
    const ws = await wsClient('bob');
    const cl = lp.channel('room:lp', {});
    const cw = ws.channel('room:lp', {});
    assert.equal((await join(cl)).status, 'ok');
    assert.equal((await join(cw)).status, 'ok');
    const atWs = next<{ body: string }>(cw, 'new_msg');
    const atLp = next<{ body: string }>(cl, 'new_msg');
    assert.deepEqual(await push(cl, 'new_msg', { body: 'from lp' }), { status: 'ok', response: {} });
    assert.deepEqual(await atWs, { body: 'from lp' });
    assert.deepEqual(await atLp, { body: 'from lp' });
    const back = next<{ body: string }>(cl, 'new_msg');
    await push(cw, 'new_msg', { body: 'from ws' });
    assert.deepEqual(await back, { body: 'from ws' });
  });

  test('presence: a LongPoll client sees itself and a WebSocket user join and leave', async () => {
    const lp = await lpClient('carol');
    const ws = await wsClient('dave');
    const cl = lp.channel('room:lp-presence', {});
    const presence = new Presence(cl);
    await join(cl);
    await eventually('carol present', () => presentUsers(presence).includes('carol'));
    const cw = ws.channel('room:lp-presence', {});
    await join(cw);
    await eventually('dave present', () => presentUsers(presence).join() === 'carol,dave');
    cw.leave();
    await eventually('dave gone', () => presentUsers(presence).join() === 'carol');
  });

  test('recovery: a LongPoll client that rejoins gets the messages it missed', async () => {
    const topic = 'room:lp-recover';
    const first = await lpClient('erin');
    const c1 = first.channel(topic, { recover: true });
    const joined = await join(c1);
    const { epoch } = joined.response as { epoch: string; offset: number };
    const seen = new Promise<number>((resolve) =>
      c1.on('msg', ((_p: unknown, ref: string | null) =>
        resolve(Number(String(ref).split(':')[1]))) as () => void),
    );
    await apiBroadcast(topic, { n: 1 });
    const lastSeen = await seen;
    first.disconnect();
    for (const n of [2, 3, 4]) await apiBroadcast(topic, { n });
    const second = await lpClient('erin');
    const c2 = second.channel(topic, { recover: { epoch, offset: lastSeen } });
    const got: number[] = [];
    c2.on('msg', (p: { n: number }) => void got.push(p.n));
    const rejoin = await join(c2);
    assert.equal((rejoin.response as { recovered: boolean }).recovered, true, JSON.stringify(rejoin));
    await eventually('missed messages', () => got.length >= 3);
    assert.deepEqual(got, [2, 3, 4]);
  });

  test('raw protocol: open is 410 + token, an unknown session is 410, a bad token is 403', async () => {
    const open = (await (await fetch(`${lpUrl()}&token=${await signToken({ sub: 'x' })}`)).json()) as {
      status: number;
      token: string;
    };
    assert.equal(open.status, 410);
    assert.match(open.token, /^lp\./);
    const poll = (await (await fetch(`${lpUrl()}&token=${open.token}`)).json()) as { status: number };
    assert.ok(poll.status === 200 || poll.status === 204, JSON.stringify(poll));
    const gone = (await (await fetch(`${lpUrl()}&token=lp.nope`)).json()) as { status: number };
    assert.equal(gone.status, 410);
    const bad = (await (await fetch(`${lpUrl()}&token=garbage`)).json()) as { status: number };
    assert.equal(bad.status, 403);
    const post = await fetch(`${lpUrl()}&token=lp.nope`, { method: 'POST', body: '[]' });
    assert.equal(((await post.json()) as { status: number }).status, 410);
  });
});

describe('LongPoll bounds', () => {
  let small: SwitchboardProcess;
  before(async () => {
    small = await startSwitchboard({ OUTBOUND_QUEUE_MAX_BYTES: '4096', MAX_FRAME_BYTES: '2048' });
  });
  after(() => small.stop());

  test('a session that stops polling is closed as a slow consumer once its messages pass the byte bound', async () => {
    const url = `${small.httpUrl}/socket/longpoll?vsn=2.0.0`;
    const jwt = await signToken({ sub: 'slow', join: ['room:*'] });
    const open = (await (await fetch(`${url}&token=${jwt}`)).json()) as { token: string };
    const at = `${url}&token=${open.token}`;
    const posted = await fetch(at, { method: 'POST', body: '["1","1","room:slow","phx_join",{}]' });
    assert.equal(((await posted.json()) as { status: number }).status, 200);
    const joined = (await (await fetch(at)).json()) as { status: number; messages: string[] };
    assert.equal(joined.status, 200);
    assert.match(joined.messages[0]!, /"status":"ok"/);
    // Nobody polls now: 8 KiB of broadcasts against a 4 KiB bound.
    for (let i = 0; i < 8; i++) await apiBroadcast('room:slow', { pad: 'x'.repeat(1000) }, small);
    const statuses: number[] = [];
    await eventually('410 after the slow-consumer close', async () => {
      const r = (await (await fetch(at)).json()) as { status: number };
      statuses.push(r.status);
      return r.status === 410;
    });
    assert.ok(statuses.length <= 3, `polls before 410: ${statuses.join()}`);
  });
});

async function apiBroadcast(topic: string, payload: object, node = sb): Promise<void> {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ topic, event: 'msg', payload }),
  });
  assert.equal(res.status, 202, await res.text());
}
