// The 'Switchboard, 2 workers' target: the node:cluster primary and its two workers are started,
// measured as one process tree, every delivery checked like the others, and the report's ratio
// against one process comes from the raw JSON.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runBenchmark } from '../lib/harness.js';
import { processTree } from '../lib/procfs.js';
import { markdownReport } from '../lib/report.js';
import { startTarget, WORKERS_TARGET_COUNT } from '../lib/targets.js';
import { figuresNotIn } from './figures.js';
import { tinyOptions } from './support.js';

test('the workers target runs a primary with its workers below it', { timeout: 60_000 }, async () => {
  const target = await startTarget('switchboard-workers', { nodes: 1 });
  try {
    const pid = target.nodes[0]!.pid;
    // Ready means the workers listen. The tree also holds tsx's esbuild service processes.
    const servers = processTree(pid).filter((p) =>
      readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('server/src/main.ts'),
    );
    assert.equal(servers.length, 1 + WORKERS_TARGET_COUNT);
  } finally {
    await target.stop();
  }
});

test(
  'one process against workers: both delivered everything, the ratio is in the JSON',
  { timeout: 120_000 },
  async () => {
    const result = await runBenchmark(
      tinyOptions({ targets: ['switchboard', 'switchboard-workers'] }),
      () => undefined,
    );
    for (const run of result.runs) {
      assert.equal(run.error, undefined);
      const s = run.result!;
      assert.deepEqual([s.lost, s.duplicates, s.reordered], [0, 0, 0], run.target);
      assert.deepEqual(s.sample.problems, [], `${run.target}: official clients`);
    }
    assert.equal(result.workersCost.length, 1);
    const c = result.workersCost[0]!;
    assert.equal(c.workload, 'A');
    assert.equal(c.runs, 1);
    const step = (t: string) => result.runs.find((r) => r.target === t)!.steps[0]!;
    assert.equal(c.oneProcess, step('switchboard').serverCpuUsPerDelivery);
    assert.equal(c.workers, step('switchboard-workers').serverCpuUsPerDelivery);
    assert.equal(c.ratio, c.workers / c.oneProcess);
    const md = markdownReport(result, 'npm run bench', 'benchmarks.json');
    assert.match(md, /## Spreading a node over worker processes/);
    assert.match(
      md,
      new RegExp(
        `\\| A \\| ${c.ratePerRoom.toFixed(1)} \\| ${c.oneProcess.toFixed(2)} \\| ${c.workers.toFixed(2)} \\| ${c.ratio.toFixed(2)}x \\| 1 \\|`,
      ),
    );
    assert.deepEqual(figuresNotIn(md, JSON.parse(JSON.stringify(result))), []);
  },
);
