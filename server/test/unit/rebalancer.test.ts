// The rebalancer's arithmetic and its one decision per round (transport/rebalancer.ts), with a
// recording drainer: which share it drains, and when it leaves the node alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Drainer } from '../../src/transport/drain.js';
import { Rebalancer, rebalanceShare } from '../../src/transport/rebalancer.js';

test('rebalanceShare: the excess over the mean, above the tolerance', () => {
  // Scaled from 2 to 3 pods: 150/150/0, mean 100: a third of each old pod's sockets.
  assert.equal(rebalanceShare(150, [150, 0], 0.1), 34);
  assert.equal(rebalanceShare(120, [0], 0.1), 50);
  assert.equal(rebalanceShare(0, [120], 0.1), 0, 'below the mean: nothing to give');
  assert.equal(rebalanceShare(100, [], 0.1), 0, 'alone');
  assert.equal(rebalanceShare(105, [95], 0.1), 0, 'within 10 % of the mean');
  assert.equal(rebalanceShare(112, [88], 0.1), 11, 'over 10 % of the mean (100): 12 of 112');
  assert.equal(rebalanceShare(1, [0], 0.1), 0, 'half a socket is not worth a reconnect');
  assert.equal(rebalanceShare(3, [0, 0], 0.1), 67);
  assert.equal(rebalanceShare(1_000_000, [0], 1), 0, 'tolerance 100 %: exactly twice the mean is allowed');
});

function fakeDrainer(answer: 'busy' | 'shutting_down' | 'ok' = 'ok', started = false) {
  const calls: [number, number][] = [];
  const drainer = {
    started,
    drainShare(percent: number, windowMs: number) {
      calls.push([percent, windowMs]);
      if (answer !== 'ok') return answer;
      return { closing: percent, windowMs, done: Promise.resolve() };
    },
  } as unknown as Drainer;
  return { calls, drainer };
}

const logger = pino({ level: 'silent' });

function rebalancer(drainer: Drainer, peers: () => number[] = () => [0]) {
  return new Rebalancer({
    intervalMs: 5000,
    tolerance: 0.1,
    windowMs: 2000,
    own: () => 120,
    peers,
    drainer,
    logger,
  });
}

test('a round drains the excess share over the window; busy, shutting down or balanced: nothing', () => {
  const peers = [0];
  const { calls, drainer } = fakeDrainer();
  const r = rebalancer(drainer, () => peers);
  assert.equal(r.tick(), 50);
  assert.deepEqual(calls, [[50, 2000]]);
  peers[0] = 115;
  assert.equal(r.tick(), 0);
  assert.equal(calls.length, 1);

  assert.equal(rebalancer(fakeDrainer('busy').drainer).tick(), 0);
  const stopping = fakeDrainer('ok', true);
  assert.equal(rebalancer(stopping.drainer).tick(), 0);
  assert.deepEqual(stopping.calls, [], 'a node shutting down drains everything anyway');
});
