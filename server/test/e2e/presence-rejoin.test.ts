// Issue 12 follow-up: the per-topic presence churn limit was checked after a duplicate join had
// already closed the old channel, so a refused rejoin left the client with neither channel. The
// limit is now checked first: the refused rejoin gets its error and the old channel keeps working.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { openRaw } from '../support/raw-client.js';

let node: SwitchboardProcess;
before(async () => {
  // One presence join per second per topic, no burst: a rejoin sent right after the join is refused.
  node = await startSwitchboard({
    LOG_LEVEL: 'warn',
    PRESENCE_CHURN_PER_SECOND: '1',
    PRESENCE_CHURN_BURST: '1',
  });
});
after(async () => node?.stop());

test('a duplicate join refused by the presence churn limit keeps the old channel', async () => {
  const topic = `room:rejoin-${Math.random().toString(36).slice(2)}`;
  const c = await openRaw(node.socketUrl, await signToken({ sub: 'alice', join: ['room:*'] }));
  // Sent back to back, so the second arrives well within the second the bucket needs to refill.
  c.send(['1', '1', topic, 'phx_join', {}]);
  c.send(['2', '2', topic, 'phx_join', {}]);
  const second = await c.waitFor((f) => f[1] === '2' && f[3] === 'phx_reply', 'rejoin reply');
  assert.deepEqual(second[4], {
    status: 'error',
    response: { reason: 'presence rate limited: retry later' },
  });
  // Its join reply, or (before the fix) the phx_close the refused rejoin sent it.
  const first = await c.waitFor(
    (f) => f[0] === '1' && (f[3] === 'phx_close' || (f[1] === '1' && f[3] === 'phx_reply')),
    'the first join answered or closed',
  );
  assert.equal(first[3], 'phx_reply', `the old channel got ${JSON.stringify(first)}`);
  assert.equal((first[4] as { status: string }).status, 'ok');

  // The old channel is still subscribed: a broadcast reaches it, and it can leave cleanly.
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ topic, event: 'after', payload: { still: 'here' } }),
  });
  assert.equal(res.status, 202);
  const msg = await c.waitFor((f) => f[3] === 'after', 'broadcast on the old channel');
  assert.deepEqual(msg[4], { still: 'here' });
  assert.equal(
    c.frames.some((f) => Array.isArray(f) && f[0] === '1' && f[3] === 'phx_close'),
    false,
    'the old channel was closed',
  );
  c.send(['1', '3', topic, 'phx_leave', {}]);
  const left = await c.waitFor((f) => f[1] === '3' && f[3] === 'phx_reply', 'leave reply');
  assert.equal((left[4] as { status: string }).status, 'ok');
  c.ws.close();
});
