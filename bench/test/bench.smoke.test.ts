// Smoke test of the benchmark harness against the raw ws baseline only: tiny counts, short steps,
// result shape and report rendering. No timing assertions (CPU is shared with other test runs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchmark } from '../lib/harness.js';
import { defaultOptions, parseBenchArgs } from '../lib/options.js';
import { consoleReport, evaluateTargets, markdownReport } from '../lib/report.js';

test('harness measures fan-out and idle RSS on the raw ws baseline and renders the report', async () => {
  const result = await runBenchmark(
    {
      ...defaultOptions,
      targets: ['ws'],
      scenarios: ['fanout', 'idle'],
      subscriberCounts: [50],
      idleCounts: [200],
      idleGenerators: 2,
      idleSettleMs: 200,
      stepMs: 1000,
      maxSteps: 2,
      startDeliveries: 2000,
      outFile: undefined,
    },
    () => undefined,
  );

  assert.equal(result.fanout.length, 1);
  const f = result.fanout[0]!;
  assert.equal(f.target, 'ws');
  assert.equal(f.subscribers, 50);
  assert.equal(f.error, undefined);
  assert.equal(f.steps.length, 2);
  for (const s of f.steps) {
    assert.equal(s.subscribers, 50, 'every subscriber was ready');
    assert.ok(s.sent > 0, 'the publisher sent messages');
    assert.ok(s.received > 0, 'subscribers received deliveries');
    assert.ok(s.received <= s.expected, 'no delivery counted twice');
    assert.ok(s.samples > 0, 'latency was sampled');
    assert.ok(s.p99Ms >= s.p50Ms && s.p50Ms > 0);
    assert.equal(s.serverCpu.length, 1);
    assert.equal(typeof s.pass, 'boolean');
    assert.equal(s.pass, s.reason === '');
  }

  assert.equal(result.idle.length, 1);
  const idle = result.idle[0]!;
  assert.equal(idle.error, undefined);
  assert.equal(idle.points?.[0]?.connections, 200);
  assert.ok((idle.baselineRssBytes ?? 0) > 0);

  assert.ok(result.machine.cores > 0 && result.machine.node.startsWith('v'));
  const md = markdownReport(result, 'npm run bench -- --test');
  assert.match(md, /## Machine/);
  assert.match(md, /\| one node \| 50 \| 100 ms \| raw ws \|/);
  assert.match(consoleReport(result), /raw ws/);
  // Without Switchboard and Socket.IO rows there is nothing to judge, so no verdict at all.
  assert.deepEqual(evaluateTargets(result), []);
});

test('bad flags are rejected with the flag named', () => {
  assert.throws(() => parseBenchArgs(['--targets', 'nginx']), /--targets: unknown "nginx"/);
  assert.throws(() => parseBenchArgs(['--step-ms', '0']), /--step-ms must be a positive integer/);
  assert.throws(() => parseBenchArgs(['--switchboard-env', 'NOPE']), /KEY=VALUE/);
  const quick = parseBenchArgs(['--quick', '--targets', 'ws,socketio']);
  assert.ok(quick !== 'help');
  assert.deepEqual(quick.targets, ['ws', 'socketio']);
  assert.equal(quick.outFile, undefined);
});
