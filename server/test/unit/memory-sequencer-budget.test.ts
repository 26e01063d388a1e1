// Property test of the memory ring's byte budgets: whatever the sequence of publications (topics
// from outside, prototype names included; sizes from empty to over the topic budget), the rings
// stay within both budgets, each topic keeps a gap-free newest suffix, and the byte count is exact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemorySequencer } from '../../src/store/memory-sequencer.js';
import { encodePublication } from '../../src/store/publication-codec.js';

const TOPIC_MAX = 4096;
const NODE_MAX = 10_000;
const topics = fc.constantFrom('room:a', 'room:b', 'room:c', '__proto__', 'constructor', 'toString');

test('memory ring: both byte budgets hold, each topic keeps its newest publications without gaps', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ topic: topics, size: fc.integer({ min: 0, max: 5000 }) }), { maxLength: 80 }),
      async (appends) => {
        const seq = new MemorySequencer({
          cacheSize: 10,
          cacheTtlMs: 60_000,
          cacheTopicMaxBytes: TOPIC_MAX,
          cacheMaxBytes: NODE_MAX,
        });
        const last = new Map<string, { epoch: string; offset: number }>();
        for (const { topic, size } of appends) {
          const p = await seq.append({
            topic,
            event: 'e',
            payload: 'x'.repeat(size),
            origin: 'n',
            publishedAt: 1,
          });
          last.set(topic, { epoch: p.epoch, offset: p.offset });
        }
        let total = 0;
        for (const [topic, { epoch, offset }] of last) {
          const kept = await seq.readRecent(topic, epoch, 0);
          const bytes = kept.reduce((n, p) => n + Buffer.byteLength(encodePublication(p)), 0);
          assert.ok(bytes <= TOPIC_MAX, `${topic}: ${bytes} bytes`);
          assert.ok(kept.length <= 10);
          const offsets = kept.map((p) => p.offset);
          if (offsets.length > 0) {
            assert.equal(offsets.at(-1), offset, `${topic}: the newest is kept when any is`);
            offsets.forEach((o, i) => assert.equal(o, offset - offsets.length + 1 + i, `${topic}: no gap`));
          }
          total += bytes;
        }
        assert.ok(total <= NODE_MAX, `${total} bytes in all`);
        assert.equal(seq.cachedBytes, total, 'the byte count matches what is kept');
      },
    ),
    { numRuns: 200 },
  );
});
