// MemoryLedger (BROKER=memory) counts the same event sizes as the Redis scripts against
// WEBHOOK_QUEUE_MAX_BYTES (docs/webhooks.md#bounds): an event that would pass the bound is dropped
// and reported; taking events out makes room again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryLedger, clientEventSize, type ClientEvent, type Dropped } from '../../src/webhooks/ledger.js';

const event = (n: number): ClientEvent => ({
  topic: 'game:b',
  event: 'move',
  sub: 'fill-0',
  payloadJson: JSON.stringify({ p: String(n).padStart(1000, 'x') }),
});

test('the memory outbox holds events up to WEBHOOK_QUEUE_MAX_BYTES of sizes, then drops and reports', async () => {
  const size = clientEventSize(event(0));
  assert.equal(size, 1024, 'topic 6 + event 4 + sub 6 + payload 1008');
  const drops: Dropped[] = [];
  const ledger = new MemoryLedger({
    debounceMs: 0,
    outboxMax: 1000,
    outboxMaxBytes: 3 * size + size / 2,
    nodeId: 'm',
    onDrop: (d) => drops.push(d),
  });
  const written = [];
  for (let n = 0; n < 5; n++) written.push(await ledger.append(event(n)));
  assert.deepEqual(written, [true, true, true, false, false]);
  assert.equal(drops.length, 2);
  assert.equal((await ledger.take(2)).length, 2);
  assert.deepEqual([await ledger.append(event(5)), await ledger.append(event(6))], [true, true]);
  assert.equal(await ledger.append(event(7)), false, 'full again at three');
});
