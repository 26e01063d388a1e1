// Scaling that moves sockets (issue 19, section 3): the rehearsal adds a third pod a quarter into the
// load test, as the HPA would, with the rebalancer on. The rollout scenario's 60 clients each hold one
// join with recovery; the pods' connections must end within 20 % of even and no client may lose or
// repeat a message. Without the rebalancer the new pod would get no connection at all (the clients
// hold theirs): the run would end uneven and exit 3.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeScaleUp, unevenness, type ScaleUpRecord } from '../lib/rehearse/scale-up.js';
import { assertNothingLeft, decisionOf, rehearse, runIdOf } from './rehearse-child.js';

const VUS = 60;

describe('npm run rehearse -- --scale-up', { timeout: 900_000 }, () => {
  test('2 -> 3 pods under load: connections end within 20 % of even, nothing lost', async () => {
    const run = await rehearse(['--short', '--skip-image', '--scale-up', '--vus', String(VUS)], 600_000);
    const d = decisionOf(run);
    const s = d.scaleUp;
    assert.ok(s, `no scale-up in decision.json:\n${run.out.slice(-6000)}`);
    assert.equal(s.ok, true, `${s.line}\n${run.out.slice(-6000)}`);
    assert.equal(s.from, 2);
    assert.equal(s.to, 3);
    assert.ok(s.convergedAfterMs !== undefined, s.line);
    const before = s.before.reduce((a, b) => a + b.connections, 0);
    const after = s.after.map((a) => a.connections);
    // Every client is back (on some pod), and the new pod holds its share. Before may count fewer:
    // the scale-up can come while clients moved by the deploy's roll are still reconnecting.
    assert.equal(
      after.reduce((a, b) => a + b, 0),
      VUS,
    );
    assert.ok(before <= VUS, `${before} connections before`);
    assert.ok(unevenness(after) <= 0.2, `${after.join('/')}`);
    assert.ok(after[2]! > 0);
    // The first sample after the new pod was ready shows it well below its share: it was moved there.
    assert.ok(s.samples[0]!.connections[2]! < after[2]!, JSON.stringify(s.samples.slice(0, 3)));
    assert.match(run.out, /messages lost 0, duplicated 0/);
    assert.match(run.out, /REBALANCE_INTERVAL_MS \| 3000/);
    // The load test's client thresholds see this machine's shared CPU; the scale-up verdict does not
    // depend on them: 0 promote, 2 a threshold failed on a loaded machine, never 3.
    assert.ok(run.code === 0 || run.code === 2, `exit ${run.code}\n${run.out.slice(-6000)}`);
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(
      `scale-up: ${s.before.map((b) => b.connections).join('/')} -> ${after.join('/')}, even ${Math.round(s.convergedAfterMs / 100) / 10} s after the new pod was ready; ${Math.round(d.totalMs / 1000)} s`,
    );
  });

  test('--scale-up is checked before anything starts', async () => {
    const short = await rehearse(['--scale-up', '--duration', '20s'], 60_000);
    assert.equal(short.code, 1);
    assert.match(short.out, /--scale-up needs a --duration of at least 30s/);
    const both = await rehearse(['--scale-up', '--fault', 'latency'], 60_000);
    assert.equal(both.code, 1);
    assert.match(both.out, /one thing at a time/);
    const preview = await rehearse(['--scale-up', '--workflow', 'preview'], 60_000);
    assert.equal(preview.code, 1);
    assert.match(preview.out, /only deploy.yml's rehearsal scales/);
  });
});

describe('judgeScaleUp', () => {
  const record = (after: number[], convergedAfterMs?: number): ScaleUpRecord => ({
    from: 2,
    to: 3,
    requestedAtMs: 10_000,
    readyAtMs: 12_000,
    ...(convergedAfterMs === undefined ? {} : { convergedAfterMs }),
    before: [
      { pod: 'p0', connections: 30 },
      { pod: 'p1', connections: 30 },
    ],
    after: after.map((connections, i) => ({ pod: `p${i}`, connections })),
    samples: [{ atMs: 12_000, connections: after }],
  });
  const counted = (lost: number, duplicated: number) => ({
    continuity_messages_lost: { type: 'counter', contains: 'default', values: { count: lost } },
    continuity_messages_duplicated: { type: 'counter', contains: 'default', values: { count: duplicated } },
  });

  test('even with nothing lost passes', () => {
    const v = judgeScaleUp(record([21, 20, 19], 5000), counted(0, 0) as never);
    assert.equal(v.ok, true, v.line);
    assert.match(v.line, /within 20 % of even 5\.0 s after/);
  });
  test('a lost or repeated message fails', () => {
    assert.equal(judgeScaleUp(record([21, 20, 19], 5000), counted(1, 0) as never).ok, false);
    assert.equal(judgeScaleUp(record([21, 20, 19], 5000), counted(0, 2) as never).ok, false);
  });
  test('never even, no scale-up, or no count of lost messages fails', () => {
    assert.equal(judgeScaleUp(record([30, 30, 0]), counted(0, 0) as never).ok, false);
    assert.equal(judgeScaleUp(undefined, counted(0, 0) as never).ok, false);
    assert.equal(judgeScaleUp(record([21, 20, 19], 5000), {}).ok, false);
  });
  test('unevenness is the largest distance from the mean over the mean', () => {
    assert.equal(unevenness([20, 20, 20]), 0);
    assert.equal(unevenness([30, 30, 0]), 1);
    assert.equal(unevenness([24, 20, 16]), 0.2);
    assert.equal(unevenness([]), 0);
  });
});
