// The hub's per-subscriber paths (real Hub, memory broker and presence): broadcast_from leaves out
// exactly the subscriber with the `except` socket id; handleOut passing the payload keeps the shared
// frame, a rewrite gets a frame of its own, null drops; events not intercepted are untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory-broker.js';
import { Hub, type Subscriber } from '../../src/hub/hub.js';
import { MemoryPresence } from '../../src/presence/memory-presence.js';
import { V2Serializer } from '../../src/protocol/serializer.js';
import { createLogger } from '../../src/telemetry/logger.js';

type Sub = Subscriber & { got: Buffer[] };

function sub(socketId: string, out?: (payload: unknown) => unknown): Sub {
  const got: Buffer[] = [];
  return {
    serializer: V2Serializer,
    socketId,
    got,
    enqueue: (f) => got.push(f),
    handleOut: out && ((_t, _e, p) => out(p)),
  };
}

const hub = () =>
  new Hub(
    new MemoryBroker({ nodeId: 'n1' }),
    new MemoryPresence({ nodeId: 'n1' }),
    createLogger({ level: 'silent', nodeId: 'n1' }),
  );
const payloadOf = (f: Buffer) => (JSON.parse(f.subarray(2).toString('utf8')) as unknown[])[4];

test('except leaves out only the subscriber with that socket id', async () => {
  const h = hub();
  const [a, b, c] = [sub('n1#1'), sub('n1#2'), sub('n2#1')];
  for (const s of [a, b, c]) await h.subscribe('t', s);
  assert.equal(h.broadcastJson('t', 'e', '{}', undefined, undefined, undefined, 'n1#2'), 2);
  assert.deepEqual([a.got.length, b.got.length, c.got.length], [1, 0, 1]);
  assert.equal(a.got[0], c.got[0], 'the others still share one frame');
});

test('handleOut: pass shares the frame, rewrite gets its own, null drops, other events untouched', async () => {
  const h = hub();
  const plain = sub('n1#1');
  const pass = sub('n1#2', (p) => p);
  const rewrite = sub('n1#3', (p) => ({ ...(p as object), seen: true }));
  const drop = sub('n1#4', () => null);
  const intercept = new Set(['said']);
  await h.subscribe('t', plain);
  for (const s of [pass, rewrite, drop]) await h.subscribe('t', s, false, intercept);
  assert.equal(h.broadcastJson('t', 'said', '{"n":1}'), 3);
  assert.equal(pass.got[0], plain.got[0]);
  assert.deepEqual(payloadOf(rewrite.got[0]!), { n: 1, seen: true });
  assert.equal(drop.got.length, 0);
  assert.equal(h.broadcastJson('t', 'other', '{"n":2}'), 4);
  assert.equal(drop.got.length, 1);
  h.unsubscribe('t', drop);
  assert.equal(h.broadcastJson('t', 'said', '{"n":3}'), 3);
});
