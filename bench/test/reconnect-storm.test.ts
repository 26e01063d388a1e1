// Workload D, the reconnect storm: the per-subscriber recovery accounting on its own (a lost or
// repeated publication means not recovered), then tiny storms against Switchboard (every subscriber
// back and recovered) and the plain `ws` server (no recovery: its loss is counted, not hidden).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchmark, type WorkloadRun } from '../lib/harness.js';
import { peakPerSecond } from '../lib/reconnect-storm.js';
import { markdownReport } from '../lib/report.js';
import type { TargetName } from '../lib/targets.js';
import { SequenceTracker } from '../loadgen/sequence.js';
import { newStormMark, noteStormDelivery, stormShardReport } from '../loadgen/storm.js';
import { figuresNotIn } from './figures.js';
import { tinyOptions } from './support.js';

/** A subscriber cut at 1000 µs, back at 2000 µs, that got `seqs` (each due at seq * 500 µs, arriving at 2500 + seq). */
function subscriber(seqs: number[], published: number) {
  const mark = newStormMark();
  const tracker = new SequenceTracker();
  mark.cutAtUs = 1000;
  mark.backAtUs = 2000;
  for (const q of seqs) {
    tracker.see(q);
    noteStormDelivery(mark, q * 500, 2500 + q);
  }
  return { mark, verdict: tracker.verdict(published), recovered: true };
}

test('a subscriber recovers only with every publication once and in order', () => {
  const clean = stormShardReport([subscriber([0, 1, 2, 3, 4, 5], 6)], new Map());
  assert.deepEqual([clean.cut, clean.back, clean.clean, clean.recoveredAnswers], [1, 1, 1, 1]);
  // Caught up when the last publication due before it was back (seq 3, due at 1500 µs) arrived.
  assert.deepEqual(clean.caughtUpAtUs, [2503]);

  const lost = stormShardReport([subscriber([0, 1, 3, 4, 5], 6)], new Map());
  assert.deepEqual([lost.back, lost.clean, lost.caughtUpAtUs.length], [1, 0, 0], 'a lost one: not recovered');

  const repeated = stormShardReport([subscriber([0, 1, 2, 2, 3, 4, 5], 6)], new Map());
  assert.deepEqual([repeated.clean, repeated.caughtUpAtUs.length], [0, 0], 'a repeated one: not recovered');

  const tail = stormShardReport([subscriber([0, 1, 2, 3, 4], 6)], new Map());
  assert.equal(tail.caughtUpAtUs.length, 0, 'the last one missing: not recovered');
});

test('a subscriber never cut is not counted as back or recovered', () => {
  const mark = newStormMark();
  const r = stormShardReport(
    [{ mark, verdict: new SequenceTracker().verdict(0), recovered: null }],
    new Map(),
  );
  assert.deepEqual([r.cut, r.back, r.clean, r.caughtUpAtUs.length], [0, 0, 1, 0]);
});

test('the peak rate is the fullest bin scaled to a second', () => {
  assert.equal(peakPerSecond([0, 10, 99_999, 100_000, 250_000], 100_000), 30);
  assert.equal(peakPerSecond([], 100_000), 0);
});

async function tinyStorm(target: TargetName): Promise<{ run: WorkloadRun; md: string; json: unknown }> {
  const result = await runBenchmark(
    tinyOptions({
      targets: [target],
      workloads: [
        { name: 'D', rooms: 4, subscribersPerRoom: 50, ratePerRoom: 5, mode: 'storm', boundMs: 3000 },
      ],
      storm: { preCutMs: 1500, publishMs: 5000, deadlineMs: 30_000 },
    }),
    () => undefined,
  );
  assert.equal(result.runs.length, 1);
  const run = result.runs[0]!;
  assert.equal(run.error, undefined);
  assert.ok(run.storm, 'the storm ran');
  return { run, md: markdownReport(result, 'npm run bench'), json: JSON.parse(JSON.stringify(result)) };
}

test(
  'a storm of 200 Switchboard subscribers: every one back and recovered',
  { timeout: 90_000 },
  async () => {
    const { run, md, json } = await tinyStorm('switchboard');
    const s = run.storm!;
    assert.deepEqual([s.subscribers, s.cut, s.back], [200, 200, 200]);
    assert.equal(s.recoveredAnswers, 200, 'every rejoin answered recovered: true');
    assert.equal(s.recovered, 200);
    assert.deepEqual([s.lost, s.duplicates, s.reordered], [0, 0, 0]);
    assert.deepEqual(s.sample.problems, [], 'the official phoenix clients with the recovery helper agree');
    assert.ok(s.allRecoveredMs !== null && s.allBackMs !== null && s.allRecoveredMs >= s.allBackMs);
    assert.ok(s.peakRejoinsPerSec > 0);
    assert.equal(s.pass, true, s.reason);
    assert.match(md, /## Reconnect storm/);
    assert.match(md, /\| D \| Switchboard \| yes \|/);
    assert.deepEqual(figuresNotIn(md, json), []);
  },
);

test('a storm on the plain ws server: no recovery, its loss counted', { timeout: 90_000 }, async () => {
  const { run, md } = await tinyStorm('ws');
  const s = run.storm!;
  assert.deepEqual([s.cut, s.back], [200, 200], 'every subscriber reconnected and rejoined');
  assert.deepEqual([s.recoveredAnswers, s.refusedAnswers], [0, 0]);
  assert.ok(s.lost > 0, 'what was published while they were away is lost');
  assert.equal(s.allRecoveredMs, null);
  assert.equal(s.pass, false);
  assert.match(s.reason, /no recovery: \d+ deliveries lost/);
  assert.match(md, /\| D \| plain ws \| no recovery \|/);
});
