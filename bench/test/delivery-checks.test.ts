// Every delivery is checked per subscriber: a server that drops, repeats or reorders one
// publication to one subscriber fails the step and the step says which. The plain `ws` server,
// with the same harness, passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchmark, type WorkloadRun } from '../lib/harness.js';
import { faultyServer, tinyOptions } from './support.js';

async function runWith(fault?: string): Promise<WorkloadRun> {
  const result = await runBenchmark(
    tinyOptions(fault ? { serverScripts: { ws: faultyServer }, serverEnv: { ws: { FAULT: fault } } } : {}),
    () => undefined,
  );
  assert.equal(result.runs.length, 1);
  const run = result.runs[0]!;
  assert.equal(run.error, undefined);
  assert.ok(run.result, 'the step ran');
  return run;
}

test('a correct server passes: every subscriber got every publication once, in order', async () => {
  const run = await runWith();
  const s = run.result!;
  assert.equal(s.subscribers, 6);
  assert.ok(s.publishedPerTopic >= 10);
  assert.equal(s.received, s.expected);
  assert.deepEqual([s.lost, s.duplicates, s.reordered], [0, 0, 0]);
  assert.deepEqual(s.sample, { clients: 2, exact: 2, problems: [] });
  assert.equal(s.pass, true, s.reason);
  assert.equal(run.counted, true);
});

test('one publication dropped to one subscriber fails the step', async () => {
  const s = (await runWith('drop')).result!;
  assert.equal(s.pass, false);
  assert.equal(s.lost, 1);
  assert.equal(s.subscribersWithLoss, 1);
  assert.equal(s.problems.length, 1);
  assert.deepEqual([s.problems[0]!.lost, s.problems[0]!.duplicates], [1, 0]);
  assert.match(s.reason, /1 deliveries missing on 1 subscribers/);
});

test('a duplicate is reported and fails the step', async () => {
  const s = (await runWith('duplicate')).result!;
  assert.equal(s.pass, false);
  assert.deepEqual([s.lost, s.duplicates, s.subscribersWithDuplicates], [0, 1, 1]);
  assert.match(s.reason, /1 duplicates on 1 subscribers/);
});

test('reordering is reported and fails the step', async () => {
  const s = (await runWith('reorder')).result!;
  assert.equal(s.pass, false);
  assert.deepEqual([s.lost, s.duplicates, s.reordered], [0, 0, 1]);
  assert.match(s.reason, /1 out of order on 1 subscribers/);
});
