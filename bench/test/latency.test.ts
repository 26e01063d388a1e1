// Latency runs from the time a publication was due, so a publisher that falls behind shows in p99;
// and the server and the load generator run on separate CPUs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCpus, threadAffinities } from '../lib/cpus.js';
import { GeneratorPool } from '../lib/pool.js';
import { runStep, type StepContext, type StepOptions } from '../lib/step.js';
import { startTarget } from '../lib/targets.js';

const STALL_MS = 600;

test('a publisher stalled mid-step shows in p99; server and generator are pinned apart', async () => {
  const cpus = planCpus();
  const target = await startTarget('ws', { nodes: 1, cpus: cpus.server });
  const pool = GeneratorPool.start({ shards: 1, cpus: cpus.generator });
  try {
    const endpoint = target.endpoint(0);
    const topics = [target.topic('L', 0)];
    await pool.publishers(endpoint, topics);
    const c = await pool.subscribe(endpoint, topics, 4, {
      concurrency: 4,
      localAddresses: [],
      deadlineMs: 30_000,
    });
    assert.equal(c.connected, 4);

    assert.deepEqual(
      threadAffinities(target.nodes[0]!.pid),
      [cpus.server],
      'every server thread on the server CPUs',
    );
    for (const g of pool.all) {
      assert.deepEqual(
        threadAffinities(g.pid),
        [cpus.generator],
        'every generator thread on the generator CPUs',
      );
    }

    const ctx: StepContext = {
      pool,
      subscribers: 4,
      topics: 1,
      serverPids: [target.nodes[0]!.pid],
      helperPids: [],
      generatorCores: cpus.generatorCores,
      log: () => undefined,
    };
    const o: StepOptions = {
      stepMs: 2000,
      boundMs: 100,
      bodyBytes: 10,
      samplesPerSecond: 1e6,
      generatorCpuMax: 100,
    };
    const onTime = await runStep(ctx, o, 50);

    // Freeze the publisher process for STALL_MS in the middle of the next step: the publications due
    // meanwhile leave late, all at once, when it resumes.
    const publish = pool.publish.bind(pool);
    pool.publish = (cmd) => {
      const sent = publish(cmd);
      setTimeout(() => {
        process.kill(pool.publisher.pid, 'SIGSTOP');
        setTimeout(() => process.kill(pool.publisher.pid, 'SIGCONT'), STALL_MS);
      }, 700);
      return sent;
    };
    const late = await runStep(ctx, o, 50);

    assert.equal(late.lost, 0, 'nothing lost, only late');
    assert.ok(late.publisherMaxLagMs >= STALL_MS / 2, `publisher lag ${late.publisherMaxLagMs} ms`);
    // A quarter of the step's publications left up to STALL_MS late: stamped when due, p99 carries
    // that lag; stamped when sent, it would not. (No comparison with the on-time step's p99, which
    // a busy machine can push up on its own.)
    assert.ok(
      late.p99Ms >= STALL_MS / 2,
      `p99 ${late.p99Ms} ms counts the publisher's lag (on time: ${onTime.p99Ms} ms)`,
    );
    assert.equal(late.pass, false);
    assert.match(late.reason, /p99 .* > 100 ms/);
  } finally {
    await pool.stop();
    await target.stop();
  }
});
