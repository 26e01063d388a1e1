// Channel handlers loaded with CHANNELS_MODULE, judged by the official `phoenix` client against
// the real server process: async callbacks, reply payloads, refusals, and handlers that fail.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';
import { collect, connect, eventually, join, next, push, type Socket } from '../support/phoenix.js';

const fixture = fileURLToPath(new URL('../support/channels-fixture.ts', import.meta.url));
let sb: SwitchboardProcess;
const sockets: Socket[] = [];

async function client(sub: string) {
  const socket = await connect(sb.socketUrl, {
    params: { token: await signToken({ sub, join: ['room:*'] }) },
  });
  sockets.push(socket);
  return socket;
}

async function handlerErrors(callback: string): Promise<number> {
  const text = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
  const m = new RegExp(
    `^switchboard_channel_handler_errors_total\\{[^}]*callback="${callback}"[^}]*\\} (\\d+)`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : 0;
}

describe('channel handlers from CHANNELS_MODULE', () => {
  before(async () => {
    sb = await startSwitchboard({ CHANNELS_MODULE: fixture });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await sb.stop();
  });

  test('an async join refuses with its reason, and admits with the right params', async () => {
    const s = await client('alice');
    const refused = s.channel('counter:a', { secret: 'nope' });
    assert.deepEqual(await join(refused), { status: 'error', response: { reason: 'wrong secret' } });
    refused.leave();
    assert.equal((await join(s.channel('counter:a', { secret: 'let-me-in' }))).status, 'ok');
  });

  test('an async handleIn replies with its payload and broadcasts; validation errors reply error', async () => {
    const a = await client('alice');
    const b = await client('bob');
    const ca = a.channel('counter:b', { secret: 'let-me-in' });
    const cb = b.channel('counter:b', { secret: 'let-me-in' });
    await join(ca);
    await join(cb);
    const atB = next<{ by: number }>(cb, 'inc');
    assert.deepEqual(await push(ca, 'inc', { by: 3 }), { status: 'ok', response: { accepted: 3 } });
    assert.deepEqual(await atB, { by: 3 });
    assert.deepEqual(await push(ca, 'inc', { by: 99 }), {
      status: 'error',
      response: { reason: 'by must be an integer from 1 to 10' },
    });
  });

  test('a join that throws or rejects gets "join failed", is counted, and the node carries on', async () => {
    const s = await client('carol');
    const before = await handlerErrors('join');
    for (const topic of ['boom:join', 'boom:join-async']) {
      const ch = s.channel(topic, {});
      assert.deepEqual(await join(ch), { status: 'error', response: { reason: 'join failed' } });
      ch.leave();
    }
    await eventually('join errors counted', async () => (await handlerErrors('join')) >= before + 2);
    assert.equal((await join(s.channel('room:still-alive', {}))).status, 'ok');
  });

  test('a handleIn that throws, rejects or replies with unencodable JSON gets "handler failed"', async () => {
    const s = await client('dave');
    const ch = s.channel('boom:in', {});
    assert.equal((await join(ch)).status, 'ok');
    const before = await handlerErrors('handle_in');
    for (const event of ['throw', 'reject', 'bad_response', 'no_reason']) {
      assert.deepEqual(
        await push(ch, event, {}),
        { status: 'error', response: { reason: 'handler failed' } },
        event,
      );
    }
    assert.deepEqual(await push(ch, 'hello', {}), { status: 'ok', response: { echo: 'hello' } });
    await eventually(
      'handle_in errors counted',
      async () => (await handlerErrors('handle_in')) === before + 4,
    );
  });

  test('a handleIn can push to the pushing socket alone and send no reply', async () => {
    const a = await client('erin');
    const b = await client('frank');
    const ca = a.channel('boom:whisper', {});
    const cb = b.channel('boom:whisper', {});
    assert.equal((await join(ca)).status, 'ok');
    assert.equal((await join(cb)).status, 'ok');
    const atB = collect(cb, 'whispered');
    const atA = next<{ back: unknown }>(ca, 'whispered');
    let replied = false;
    ca.push('whisper', { n: 1 })
      .receive('ok', () => (replied = true))
      .receive('error', () => (replied = true));
    assert.deepEqual(await atA, { back: { n: 1 } });
    // Replies to synchronous handlers go out in push order: once the next push is answered, a
    // reply to the whisper would have arrived before it.
    assert.equal((await push(ca, 'hello', {})).status, 'ok');
    assert.equal(replied, false);
    assert.equal((await push(cb, 'hello', {})).status, 'ok');
    assert.deepEqual(atB, []);
  });
});
