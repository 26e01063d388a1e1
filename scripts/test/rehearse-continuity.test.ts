// Continuity as a gate (issue 18 §1), for real: `npm run rehearse --short --skip-image` with the
// rollout scenario while every pod in turn moves all its sockets (scripts/lib/rehearse/continuity-faults.ts).
// With recovery working the deploy promotes with 0 messages lost; with history lost meanwhile
// (broken-recovery) the gate fails recovery-success and messages-lost and no other objective.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { LoadSummary } from '../../pipeline/src/k6/index.js';
import { assertNothingLeft, decisionOf, rehearse, runIdOf, type Run } from './rehearse-child.js';

/** The staging load test's summary JSON (the rollout scenario's continuity counts). */
function loadSummaryOf(run: Run): LoadSummary {
  const path = /the gate reads the load test's summary: (\S+)/.exec(run.out)?.[1];
  assert.ok(path, `the gate was not given the load test's summary:\n${run.out.slice(-4000)}`);
  return JSON.parse(readFileSync(path, 'utf8')) as LoadSummary;
}

function figures(label: string, s: LoadSummary): string {
  const v = (metric: string, key: string) => s.metrics[metric]?.values[key];
  return (
    `${label}: lost ${v('continuity_messages_lost', 'count')}, reconnect p99 ` +
    `${v('continuity_reconnect_time', 'p(99)')?.toFixed(0)} ms (${v('continuity_reconnect_time', 'count')} reconnects), ` +
    `connects ${v('continuity_connects', 'count')} (peak ${v('continuity_connects', 'peak_1s')}/s, ` +
    `${v('continuity_connects', 'peak_100ms')} in 100 ms)`
  );
}

describe('npm run rehearse: continuity across a rolling update', { timeout: 1_500_000 }, () => {
  test('rolling-drain: every pod moves its sockets, recovery works: 0 lost, the gate passes, promote, exit 0', async () => {
    const run = await rehearse(['--short', '--skip-image', '--fault', 'rolling-drain'], 600_000);
    assert.equal(run.code, 0, run.out.slice(-6000));
    const decision = decisionOf(run);
    assert.equal(decision.promote, true);
    assert.equal(decision.gateVerdict, 'pass');
    assert.deepEqual(decision.failedObjectives, []);
    const summary = loadSummaryOf(run);
    assert.equal(summary.scenario, 'rollout');
    assert.equal(summary.metrics.continuity_messages_lost?.values.count, 0);
    assert.ok((summary.metrics.continuity_reconnect_time?.values.count ?? 0) > 0, 'clients reconnected');
    assert.match(run.out, /recovery-success: [^\n]+ -> pass/);
    assert.match(run.out, /rolling-drain: the deploy rode through it and promoted, as expected/);
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(figures(`rolling-drain (${Math.round(decision.totalMs / 1000)} s)`, summary));
  });

  test('broken-recovery: the same rolling update while Redis loses history fails recovery-success and messages-lost only, exit 2', async () => {
    const run = await rehearse(['--short', '--skip-image', '--fault', 'broken-recovery'], 600_000);
    assert.equal(run.code, 2, run.out.slice(-6000));
    const decision = decisionOf(run);
    assert.equal(decision.promote, false);
    assert.equal(decision.faultCaught, true);
    assert.deepEqual([...decision.failedObjectives].sort(), ['messages-lost', 'recovery-success']);
    assert.equal(decision.neighbour?.ok, true, JSON.stringify(decision.neighbour));
    const summary = loadSummaryOf(run);
    assert.ok((summary.metrics.continuity_messages_lost?.values.count ?? 0) > 0);
    assert.match(
      run.out,
      /fault broken-recovery: the SLO gate failed recovery-success, messages-lost and nothing else/,
    );
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(figures(`broken-recovery (${Math.round(decision.totalMs / 1000)} s)`, summary));
  });
});
