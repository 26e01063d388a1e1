// The two-node variant: two server processes sharing one real Redis, subscribers alternating
// between them and the publisher on the first, so half the deliveries cross Redis. Every delivery
// is still checked per subscriber; server CPU covers both nodes and Redis's CPU is given apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchmark } from '../lib/harness.js';
import { markdownReport } from '../lib/report.js';
import { TARGET_LABELS } from '../lib/targets.js';
import { TWO_NODE_TARGETS } from '../lib/two-node.js';
import { figuresNotIn } from './figures.js';
import { tinyOptions } from './support.js';

test('the ws baselines have no two-node variant', async () => {
  const result = await runBenchmark(
    tinyOptions({ targets: ['ws', 'ws-tuned'], variants: ['two-node'] }),
    () => undefined,
  );
  assert.deepEqual(result.runs, []);
});

for (const target of TWO_NODE_TARGETS) {
  test(
    `${TARGET_LABELS[target]} on two nodes over Redis delivers everything`,
    { timeout: 90_000 },
    async () => {
      const result = await runBenchmark(
        tinyOptions({ targets: [target], variants: ['two-node'] }),
        () => undefined,
      );
      assert.equal(result.runs.length, 1);
      const run = result.runs[0]!;
      assert.equal(run.error, undefined);
      assert.equal(run.nodes, 2);
      const s = run.result!;
      assert.equal(s.subscribers, 6);
      assert.deepEqual([s.lost, s.duplicates, s.reordered], [0, 0, 0]);
      assert.deepEqual(s.sample.problems, [], 'official clients on the node without publishers');
      assert.equal(s.serverCpu.length, 2, 'CPU of both nodes');
      assert.ok(s.redisCpu !== undefined && s.redisCpuUsPerDelivery !== undefined, 'Redis measured apart');
      assert.equal(s.pass, true, s.reason);
      const md = markdownReport(result, 'npm run bench');
      assert.match(md, /## Fixed load on two nodes sharing one Redis/);
      assert.match(
        md,
        new RegExp(`\\| A \\| ${TARGET_LABELS[target]} \\| \\*\\*[\\d.]+\\*\\* \\| \\*\\*[\\d.]+\\*\\* \\|`),
      );
      assert.deepEqual(figuresNotIn(md, JSON.parse(JSON.stringify(result))), []);
    },
  );
}
