// The per-connection token bucket: deterministic (time is passed in).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket, type RateVerdict } from '../../src/session/token-bucket.js';

function takeN(b: TokenBucket, n: number, now: number): RateVerdict[] {
  return Array.from({ length: n }, () => b.take(now));
}

test('a full bucket allows a burst, then refuses', () => {
  const b = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  assert.deepEqual(takeN(b, 5, 0), ['ok', 'ok', 'ok', 'ok', 'ok']);
  assert.equal(b.take(0), 'limited');
});

test('tokens refill at the rate, up to the burst', () => {
  const b = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  takeN(b, 5, 0);
  assert.equal(b.take(50), 'limited', 'half a token after 50 ms');
  assert.equal(b.take(100), 'ok', 'one token after 100 ms');
  assert.equal(b.take(100), 'limited');
  assert.deepEqual(takeN(b, 6, 60_000), ['ok', 'ok', 'ok', 'ok', 'ok', 'limited'], 'capped at the burst');
});

test('a steady client at the rate is never refused', () => {
  const b = new TokenBucket({ perSecond: 100, burst: 1 }, 0);
  for (let t = 0; t < 10_000; t += 10) assert.equal(b.take(t), 'ok');
});

test('persistent excess becomes "exceeded"; slowing down is forgiven', () => {
  const b = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  takeN(b, 5, 0);
  assert.deepEqual(takeN(b, 5, 0), ['limited', 'limited', 'limited', 'limited', 'limited']);
  assert.equal(b.take(0), 'exceeded', 'more rejections than the burst without pause');

  const calm = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  takeN(calm, 5, 0);
  takeN(calm, 4, 0);
  // One second later the rejections have drained and the bucket is full again.
  assert.deepEqual(takeN(calm, 5, 1000), ['ok', 'ok', 'ok', 'ok', 'ok']);
  assert.deepEqual(takeN(calm, 5, 1000), ['limited', 'limited', 'limited', 'limited', 'limited']);
});

test('a client at twice the rate is eventually exceeded; at 1.5x it is only limited', () => {
  const fast = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  let verdict: RateVerdict = 'ok';
  for (let t = 0; t < 60_000 && verdict !== 'exceeded'; t += 40) verdict = fast.take(t);
  assert.equal(verdict, 'exceeded');

  const moderate = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  const seen = new Set<RateVerdict>();
  for (let t = 0; t < 60_000; t += 66) seen.add(moderate.take(t));
  assert.ok(!seen.has('exceeded'));
});

test('a clock that steps back takes no tokens away', () => {
  const b = new TokenBucket({ perSecond: 10, burst: 5 }, 10_000);
  assert.deepEqual(
    takeN(b, 5, 0),
    ['ok', 'ok', 'ok', 'ok', 'ok'],
    'the burst is still there at an earlier time',
  );
  assert.equal(b.take(0), 'limited');
});
