// When a deploy cuts a room's members at once, each recovers the same publications: they share one
// decoding of each cached entry and one frame per serializer, and a recovery reads the cache once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { V1Serializer, V2Serializer } from '../../src/protocol/serializer.js';
import { recoveredFrame } from '../../src/session/recovery-join.js';
import { NullHistoryStore } from '../../src/store/history-store.js';
import { MemorySequencer } from '../../src/store/memory-sequencer.js';
import { recover } from '../../src/store/recovery.js';
import type { SequencedPublication } from '../../src/store/sequencer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function filledSequencer(n: number): Promise<MemorySequencer> {
  const seq = new MemorySequencer({ cacheSize: 100, cacheTtlMs: 60_000 });
  for (let i = 0; i < n; i++) {
    await seq.append({
      topic: 'room:a',
      event: 'msg',
      origin: 'n1',
      publishedAt: 1,
      payloadJson: JSON.stringify({ i, body: 'x'.repeat(50) }),
    });
  }
  return seq;
}

describe('recovered publications are shared', () => {
  test('two readers of the same cached entries get the same objects while one holds them', async () => {
    const seq = await filledSequencer(5);
    const { epoch } = await seq.position('room:a');
    const first = await seq.readRecent('room:a', epoch, 1);
    const second = await seq.readRecent('room:a', epoch, 0);
    assert.equal(second.length, 5);
    for (let i = 0; i < 4; i++) assert.equal(second[i + 1], first[i], `offset ${i + 2}`);
  });

  test('once nobody holds a decoding it may be collected, and the next read decodes the same content', async () => {
    const seq = await filledSequencer(3);
    const { epoch } = await seq.position('room:a');
    const before = JSON.parse(JSON.stringify(await seq.readRecent('room:a', epoch, 0))) as unknown;
    await new Promise((r) => setImmediate(r));
    gc();
    assert.deepEqual(JSON.parse(JSON.stringify(await seq.readRecent('room:a', epoch, 0))), before);
  });

  test('one frame per publication and serializer, identical to a fresh encoding', async () => {
    const seq = await filledSequencer(2);
    const { epoch } = await seq.position('room:a');
    const [pub] = await seq.readRecent('room:a', epoch, 0);
    const v2 = recoveredFrame(pub!, V2Serializer);
    assert.equal(recoveredFrame(pub!, V2Serializer), v2);
    const v1 = recoveredFrame(pub!, V1Serializer);
    assert.notEqual(v1, v2);
    const copy = { ...pub! } as SequencedPublication;
    assert.deepEqual(recoveredFrame(copy, V2Serializer), v2);
    assert.deepEqual(recoveredFrame(copy, V1Serializer), v1);
    assert.notEqual(recoveredFrame(copy, V2Serializer), v2, 'another object gets its own frame');
  });

  test('a recovery reads the cache once: the sizing read is the one sent', async () => {
    const seq = await filledSequencer(10);
    const { epoch } = await seq.position('room:a');
    let reads = 0;
    const counting = Object.assign(Object.create(seq) as MemorySequencer, {
      readRecent: (...args: Parameters<MemorySequencer['readRecent']>) => {
        reads++;
        return seq.readRecent(...args);
      },
    });
    const r = await recover({ topic: 'room:a', epoch, offset: 4 }, counting, new NullHistoryStore(), {
      maxMessages: 100,
    });
    assert.equal(r.recovered, true);
    assert.deepEqual(
      r.publications.map((p) => p.offset),
      [5, 6, 7, 8, 9, 10],
    );
    assert.equal(reads, 1);
  });
});
