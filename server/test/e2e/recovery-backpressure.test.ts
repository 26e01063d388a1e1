// Issue 12 item 3: recovering more than OUTBOUND_QUEUE_MAX_BYTES. A client that reads at once must
// get its join reply and every missed message, streamed under backpressure, never a 4008 close.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { openRaw } from '../support/raw-client.js';

const MESSAGES = 40;
const PAYLOAD_BYTES = 60_000;
/** Server default; the missed messages total more than twice it. */
const OUTBOUND_QUEUE_MAX_BYTES = 1024 * 1024;

let node: SwitchboardProcess;
before(async () => {
  node = await startSwitchboard({ LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
});
after(async () => node?.stop());

const isReply = (ref: string) => (f: unknown[]) => f[1] === ref && f[3] === 'phx_reply';

test(`recovering ${MESSAGES} x ${PAYLOAD_BYTES} bytes (> OUTBOUND_QUEUE_MAX_BYTES) streams them all, 3 of 3 times`, async () => {
  assert.ok(MESSAGES * PAYLOAD_BYTES > 2 * OUTBOUND_QUEUE_MAX_BYTES);
  const topic = `room:bulk-${Math.random().toString(36).slice(2)}`;
  const token = await signToken({ sub: 'reader', join: ['room:*'] });
  const first = await openRaw(node.socketUrl, token);
  first.send(['1', '1', topic, 'phx_join', { recover: true }]);
  const reply = (await first.waitFor(isReply('1'), 'first join'))[4] as {
    response: { epoch: string; offset: number };
  };
  const { epoch, offset: start } = reply.response;
  first.ws.close();

  for (let n = 1; n <= MESSAGES; n++) {
    const res = await fetch(`${node.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic, event: 'msg', payload: { n, fill: 'x'.repeat(PAYLOAD_BYTES) } }),
    });
    assert.equal(res.status, 202);
  }

  for (let attempt = 1; attempt <= 3; attempt++) {
    const c = await openRaw(node.socketUrl, token);
    let closeCode: number | null = null;
    void c.closed.then(({ code }) => (closeCode = code));
    c.send(['1', '1', topic, 'phx_join', { recover: { epoch, offset: start } }]);
    const joined = (await c.waitFor(isReply('1'), `recovering join, attempt ${attempt}`, 20_000))[4] as {
      status: string;
      response: { recovered: boolean; offset: number };
    };
    assert.equal(joined.status, 'ok', JSON.stringify(joined));
    assert.equal(joined.response.recovered, true);
    assert.equal(joined.response.offset, start + MESSAGES);
    await c.waitFor((f) => f[1] === `${epoch}:${start + MESSAGES}`, 'the last recovered message', 20_000);
    const offsets = c.frames
      .filter((f): f is unknown[] => Array.isArray(f) && f[3] === 'msg')
      .map((f) => (f[4] as { n: number }).n);
    assert.deepEqual(
      offsets,
      Array.from({ length: MESSAGES }, (_, i) => i + 1),
      `attempt ${attempt}`,
    );
    assert.equal(closeCode, null, `attempt ${attempt}: closed with ${closeCode}`);
    c.ws.close();
  }
});
