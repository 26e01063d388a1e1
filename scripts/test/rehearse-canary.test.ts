// Production's canary before the promotion (issue 18 §2), played by the rehearsal with --canary: the
// canary render (the running release untouched plus a canary pod of the new release) synced into the
// stand-in's production, the move Job posting a share drain to each stable pod, the canary's pod judged
// against the stable pods over the same window, then either the promotion (the full render: the canary
// pruned, the stable pods rolled) or, with a bad release on the canary, its removal and no promotion.
// The healthy canary is asserted by rehearse-rollout.test.ts's healthy run, one rehearsal for the
// whole healthy path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertNothingLeft, decisionOf, rehearse, runIdOf, type DecisionFile } from './rehearse-child.js';

/** switchboard_build_info's revision the stand-in gives the pods of `image` (neighbour.ts revisionEnv). */
const revisionOf = (image: string) => `digest-${/@sha256:([0-9a-f]{12})/.exec(image)?.[1] ?? 'none'}`;

/** join-success on the canary's pod and on the stable pods, from decision.json. */
function joinSuccess(d: DecisionFile): string {
  const r = d.canaryValues?.find((x) => x.name === 'join-success');
  return `join-success on the canary ${r?.canary?.toFixed(3)}, on the stable pods ${r?.stable?.toFixed(3)}`;
}

describe("npm run rehearse --canary: production's canary", { timeout: 1_500_000 }, () => {
  test('bad-release on the canary: its comparison fails join-success only, it is removed, nothing promoted (exit 5)', async () => {
    const run = await rehearse(
      ['--short', '--skip-image', '--canary', '25', '--fault', 'bad-release'],
      700_000,
    );
    const d = decisionOf(run);
    const why = `${JSON.stringify(d, null, 1)}\n${run.out.slice(-8000)}`;
    assert.equal(d.gateVerdict, 'pass', why);
    assert.equal(d.canaryVerdict, 'fail', why);
    assert.deepEqual(d.canaryFailed, ['join-success'], why);
    assert.equal(d.canaryRemoved, true, why);
    assert.equal(d.faultAsExpected, true, why);
    assert.equal(run.code, 5, why);
    assert.equal(d.promote, false);
    assert.equal(d.rolledBack, false);
    // Two syncs: the canary's, and the restore's that pruned it; the stable pods were never rolled.
    assert.equal(d.productionSyncs.length, 2, why);
    const [canary, restore] = d.productionSyncs;
    assert.ok((canary!.moved ?? 0) > 0, `moved ${canary!.moved}`);
    assert.equal(restore!.canaryPruned, canary!.canaryStarted, why);
    assert.deepEqual(restore!.to, canary!.from);
    const p = d.production!;
    assert.equal(p.endsOn, 'previous', why);
    for (const revision of Object.values(p.revisions)) assert.equal(revision, revisionOf(p.previousImage));
    assert.match(run.out, /ok +Remove the canary/);
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(
      `canary bad-release: ${Math.round(d.totalMs / 1000)} s, moved ${canary!.moved}, ${joinSuccess(d)}`,
    );
  });

  test('--canary is checked before anything starts', async () => {
    const over = await rehearse(['--canary', '101'], 60_000);
    assert.equal(over.code, 1);
    assert.match(over.out, /--canary: 101 is above 100/);
    const staging = await rehearse(['--canary', '10', '--fault', 'latency'], 60_000);
    assert.equal(staging.code, 1);
    assert.match(staging.out, /only bad-release reaches it/);
  });
});
