// The hub's fan-out with subscribers of both serializers (real Hub, memory broker and presence):
// each broadcast is encoded once per serializer (subscribers of one serializer share one Buffer),
// V1 subscribers get V1 objects, and a binary broadcast, which V1 cannot carry, skips them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory-broker.js';
import { Hub, type Subscriber } from '../../src/hub/hub.js';
import { MemoryPresence } from '../../src/presence/memory-presence.js';
import { decodeServerBinary } from '../../src/protocol/binary.js';
import { V1Serializer, V2Serializer, type Serializer } from '../../src/protocol/serializer.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { metrics } from '../../src/telemetry/metrics.js';

interface Received {
  frame: Buffer;
  positioned: boolean;
}

function subscriber(serializer: Serializer): Subscriber & { got: Received[] } {
  const got: Received[] = [];
  return {
    serializer,
    got,
    enqueue: (frame) => got.push({ frame, positioned: false }),
    enqueuePositioned: (_topic, frame) => got.push({ frame, positioned: true }),
  };
}

/** The payload of one unmasked server frame (opcode 1 text or 2 binary, under 64 KiB). */
function unframe(frame: Buffer): { opcode: number; data: Buffer } {
  const len = frame[1]! & 0x7f;
  const start = len === 126 ? 4 : 2;
  return { opcode: frame[0]! & 0x0f, data: frame.subarray(start) };
}
const textOf = (r: Received) => JSON.parse(unframe(r.frame).data.toString('utf8')) as unknown;

async function hubWith(topic: string, subs: Subscriber[], positioned: Subscriber[] = []): Promise<Hub> {
  const hub = new Hub(
    new MemoryBroker({ nodeId: 'n1' }),
    new MemoryPresence({ nodeId: 'n1' }),
    createLogger({ level: 'silent', nodeId: 'n1' }),
  );
  for (const s of subs) await hub.subscribe(topic, s, positioned.includes(s));
  return hub;
}

test('a JSON broadcast: one shared frame per serializer, V1 objects to V1 and arrays to V2', async () => {
  const v2a = subscriber(V2Serializer);
  const v2b = subscriber(V2Serializer);
  const v1a = subscriber(V1Serializer);
  const v1b = subscriber(V1Serializer);
  const hub = await hubWith('room:x', [v2a, v1a, v2b, v1b]);
  assert.equal(hub.broadcastJson('room:x', 'new_msg', '{"body":"hi"}'), 4);
  for (const s of [v2a, v2b, v1a, v1b]) assert.equal(s.got.length, 1);
  assert.equal(v2a.got[0]!.frame, v2b.got[0]!.frame, 'V2 subscribers share one Buffer');
  assert.equal(v1a.got[0]!.frame, v1b.got[0]!.frame, 'V1 subscribers share one Buffer');
  assert.deepEqual(textOf(v2a.got[0]!), [null, null, 'room:x', 'new_msg', { body: 'hi' }]);
  assert.deepEqual(textOf(v1a.got[0]!), {
    event: 'new_msg',
    payload: { body: 'hi' },
    ref: null,
    topic: 'room:x',
  });
});

test('positioned subscribers of each serializer get the position in the ref', async () => {
  const v2 = subscriber(V2Serializer);
  const v1 = subscriber(V1Serializer);
  const v1Plain = subscriber(V1Serializer);
  const hub = await hubWith('room:p', [v2, v1, v1Plain], [v2, v1]);
  hub.broadcastJson('room:p', 'msg', '{"n":1}', undefined, undefined, { epoch: 'E', offset: 7 });
  assert.deepEqual(textOf(v2.got[0]!), [null, 'E:7', 'room:p', 'msg', { n: 1 }]);
  assert.deepEqual(textOf(v1.got[0]!), { event: 'msg', payload: { n: 1 }, ref: 'E:7', topic: 'room:p' });
  assert.equal(v1.got[0]!.positioned, true);
  assert.deepEqual(textOf(v1Plain.got[0]!), { event: 'msg', payload: { n: 1 }, ref: null, topic: 'room:p' });
});

test('a binary broadcast reaches V2 subscribers only and counts the V1 ones as undeliverable', async () => {
  const v2 = subscriber(V2Serializer);
  const v1 = subscriber(V1Serializer);
  const hub = await hubWith('room:b', [v2, v1]);
  const before = (await metrics.broadcastsUndeliverable.get()).values[0]?.value ?? 0;
  assert.equal(hub.broadcastBinary('room:b', 'blob', Buffer.from([1, 2, 3])), 1);
  assert.equal(v1.got.length, 0);
  const { opcode, data } = unframe(v2.got[0]!.frame);
  assert.equal(opcode, 2);
  assert.deepEqual(decodeServerBinary(data), {
    kind: 'broadcast',
    topic: 'room:b',
    event: 'blob',
    payload: Buffer.from([1, 2, 3]),
  });
  const after = (await metrics.broadcastsUndeliverable.get()).values[0]?.value ?? 0;
  assert.equal(after - before, 1);
});

test('binary to a positioned V2 subscriber still goes through enqueuePositioned (a recovering join holds it)', async () => {
  const v2 = subscriber(V2Serializer);
  const v1 = subscriber(V1Serializer);
  const hub = await hubWith('room:bp', [v2, v1], [v2, v1]);
  assert.equal(
    hub.broadcastBinary('room:bp', 'blob', Buffer.from([9]), undefined, { epoch: 'E', offset: 1 }),
    1,
  );
  assert.deepEqual(
    v2.got.map((r) => r.positioned),
    [true],
  );
  assert.equal(v1.got.length, 0);
});

test('unsubscribing removes a subscriber from its serializer group', async () => {
  const v2 = subscriber(V2Serializer);
  const v1 = subscriber(V1Serializer);
  const hub = await hubWith('room:u', [v2, v1]);
  assert.equal(hub.subscriberCount('room:u'), 2);
  hub.unsubscribe('room:u', v1);
  assert.equal(hub.subscriberCount('room:u'), 1);
  assert.equal(hub.broadcastJson('room:u', 'e', '{}'), 1);
  assert.equal(v1.got.length, 0);
  hub.unsubscribe('room:u', v2);
  assert.equal(hub.subscriberCount('room:u'), 0);
  assert.equal(hub.topicCount, 0);
});
