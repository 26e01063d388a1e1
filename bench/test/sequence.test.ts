// The per-subscriber bookkeeping on its own: losses, duplicates and late arrivals are told apart,
// and the stamp is read back from a delivered frame of each protocol.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPublication, readStamp } from '../loadgen/payload.js';
import { MAX_TRACKED_GAPS, SequenceTracker } from '../loadgen/sequence.js';

function account(seqs: number[], published: number) {
  const t = new SequenceTracker();
  for (const q of seqs) t.see(q);
  return t.verdict(published);
}

test('every publication once and in order: nothing to report', () => {
  assert.deepEqual(account([0, 1, 2, 3], 4), { received: 4, lost: 0, duplicates: 0, reordered: 0 });
});

test('a missing publication in the middle or at the end is lost', () => {
  assert.deepEqual(account([0, 1, 3], 4), { received: 3, lost: 1, duplicates: 0, reordered: 0 });
  assert.deepEqual(account([0, 1, 2], 4), { received: 3, lost: 1, duplicates: 0, reordered: 0 });
  assert.deepEqual(account([], 3), { received: 0, lost: 3, duplicates: 0, reordered: 0 });
});

test('a duplicate does not hide a loss', () => {
  assert.deepEqual(account([0, 1, 1, 3], 4), { received: 3, lost: 1, duplicates: 1, reordered: 0 });
});

test('a late publication is reordered, not lost; a second copy of it is a duplicate', () => {
  assert.deepEqual(account([0, 2, 1, 3], 4), { received: 4, lost: 0, duplicates: 0, reordered: 1 });
  assert.deepEqual(account([0, 2, 1, 1, 3], 4), { received: 4, lost: 0, duplicates: 1, reordered: 1 });
});

test('gaps past the remembered bound are still counted as lost', () => {
  const big = MAX_TRACKED_GAPS * 3;
  assert.equal(account([0, big], big + 1).lost, big - 1);
});

test('the stamp is read back from Phoenix, Socket.IO and raw frames', () => {
  const p = formatPublication(7, 42, 1_733_000_000_123_456, 'xxxx');
  for (const frame of [`[null,null,"feed:b","bench",${p}]`, `42["msg",${p}]`, p]) {
    const b = Buffer.from(`junk${frame}junk`);
    assert.deepEqual(readStamp(b, 4, b.length - 4), { step: 7, seq: 42, intendedUs: 1_733_000_000_123_456 });
  }
  const none = Buffer.from('[null,null,"feed:b","presence_diff",{}]');
  assert.equal(readStamp(none, 0, none.length), null);
});
