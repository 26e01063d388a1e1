// Servers run in an order drawn from the seed, differently per run; the summary is the median and
// range of the runs; the report prints no figure that is not in the raw JSON.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { runBenchmark, type BenchResult } from '../lib/harness.js';
import { orderSeed, shuffled, spread } from '../lib/order.js';
import { consoleReport, markdownReport } from '../lib/report.js';
import { TARGET_NAMES } from '../lib/targets.js';
import { figuresIn, figuresNotIn } from './figures.js';
import { tinyOptions } from './support.js';

test('the order is a function of the seed and varies between seeds and runs', () => {
  assert.deepEqual(shuffled(TARGET_NAMES, 7), shuffled(TARGET_NAMES, 7));
  const firsts = new Set<string>();
  const orders = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const o = shuffled(TARGET_NAMES, orderSeed(seed, 1, 0));
    assert.deepEqual([...o].sort(), [...TARGET_NAMES].sort(), 'a permutation');
    firsts.add(o[0]!);
    orders.add(o.join());
  }
  assert.equal(firsts.size, TARGET_NAMES.length, 'every server runs first for some seed');
  assert.ok(orders.size > 10, `${orders.size} distinct orders in 40 seeds`);
  assert.notDeepEqual(
    [1, 2, 3].map((run) => shuffled(TARGET_NAMES, orderSeed(5, run, 0)).join()),
    [1, 1, 1].map(() => shuffled(TARGET_NAMES, orderSeed(5, 1, 0)).join()),
    'runs of one seed differ',
  );
});

test('median and range', () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(spread([4, 1]), { median: 2.5, min: 1, max: 4, n: 2 });
  assert.equal(spread([]), null);
});

let result: BenchResult;
const SEED = 11;
before(async () => {
  result = await runBenchmark(
    tinyOptions({ targets: ['ws', 'ws-tuned'], runs: 3, seed: SEED }),
    () => undefined,
  );
});

test('the harness runs the servers in the seed order of each run', () => {
  const expected = [1, 2, 3].map((run) => shuffled(['ws', 'ws-tuned'], orderSeed(SEED, run, 0)));
  assert.deepEqual(
    result.orders.map((o) => o.targets),
    expected,
  );
  // The order actually run, by start time, is the recorded one.
  const started = [...result.runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  assert.deepEqual(
    started.map((r) => r.target),
    expected.flat(),
  );
  assert.ok(
    new Set(expected.map((o) => o.join())).size > 1,
    'seed 11 gives different orders in different runs (else pick another seed)',
  );
  for (const s of result.summary) {
    const counted = result.runs.filter((r) => r.target === s.target && r.counted);
    assert.equal(s.runs, 3);
    assert.equal(s.counted, counted.length);
    assert.deepEqual(s.cpuUsPerDelivery, spread(counted.map((r) => r.result!.serverCpuUsPerDelivery)));
  }
});

test('the report prints only figures of the raw JSON', () => {
  // Through JSON as run.ts writes it, so only what the file holds counts.
  const json: unknown = JSON.parse(JSON.stringify(result));
  const md = markdownReport(result, 'npm run bench', 'benchmarks.json');
  assert.ok(figuresIn(md).length > 50, 'the report has figures to check');
  assert.deepEqual(figuresNotIn(md, json), []);
  assert.deepEqual(figuresNotIn(consoleReport(result), json), []);
  assert.match(md, /\| A \| plain ws \|/);
  assert.match(md, /\| A \| tuned ws \|/);
});
