// The per-topic presence join limiter: burst, refill, topics independent, idle topics forgotten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PresenceChurnLimiter } from '../../src/session/presence-churn.js';

test('a topic takes `burst` joins at once, then `perSecond`; other topics are not affected', () => {
  const limiter = new PresenceChurnLimiter(10, 3);
  const t0 = 1_000_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limiter.take('room:a', t0)),
    [true, true, true, false],
  );
  assert.equal(limiter.take('room:b', t0), true);
  assert.equal(limiter.take('room:a', t0 + 50), false);
  assert.equal(limiter.take('room:a', t0 + 100), true);
  // Keys from clients are data: prototype names are topics like any other.
  assert.equal(limiter.take('__proto__', t0), true);
  assert.equal(limiter.take('constructor', t0), true);
});

test('topics idle for a full refill are forgotten, so the map holds only recent topics', () => {
  const limiter = new PresenceChurnLimiter(10, 3);
  for (let i = 0; i < 1000; i++) limiter.take(`room:${i}`, 0);
  assert.equal(limiter.size, 1000);
  limiter.take('room:late', 300);
  assert.equal(limiter.size, 1);
});
