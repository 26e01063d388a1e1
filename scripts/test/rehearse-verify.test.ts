// Production's verification after its promotion (issue 18 §3): the rehearsal plays the production
// job's sync (the stand-in rolls production's pods), the verification soak (slo-gate on production's
// own clients, compared with the window before the sync) and, when it does not pass, the rollback
// (the previous render restored on the deploy branch and synced: the pods roll back). A bad release
// that only production shows fails join-success and nothing else, is rolled back, and production ends
// on the previous release (exit 4). The healthy run, verified and promoted (exit 0), is
// rehearse-rollout.test.ts's: one rehearsal checks both the staging roll and production's verification.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertNothingLeft, decisionOf, rehearse, runIdOf } from './rehearse-child.js';

/** switchboard_build_info's revision the stand-in gives the pods of `image` (neighbour.ts revisionEnv). */
const revisionOf = (image: string) => `digest-${/@sha256:([0-9a-f]{12})/.exec(image)?.[1] ?? 'none'}`;

// Each run is bounded at 10 min (see docs/rehearsal.md for what they take).
describe("npm run rehearse: production's verification and rollback", { timeout: 1_500_000 }, () => {
  test('bad-release: the verification fails join-success only, the workflow rolls back, production ends on the previous release (exit 4)', async () => {
    const run = await rehearse(['--short', '--skip-image', '--fault', 'bad-release'], 600_000);
    const d = decisionOf(run);
    const why = `${JSON.stringify(d, null, 1)}\n${run.out.slice(-8000)}`;
    // Staging cannot see it: its gate passes and production is promoted.
    assert.equal(d.gateVerdict, 'pass', why);
    assert.equal(d.neighbour?.ok, true, why);
    assert.equal(run.code, 4, why);
    assert.equal(d.verificationVerdict, 'fail', why);
    assert.deepEqual(d.verificationFailed, ['join-success'], why);
    assert.equal(d.rolledBack, true);
    assert.equal(d.faultAsExpected, true);
    const p = d.production!;
    assert.equal(p.endsOn, 'previous', why);
    assert.equal(p.deployBranchImage, p.previousImage);
    assert.ok(Object.keys(p.revisions).length > 0);
    for (const revision of Object.values(p.revisions)) assert.equal(revision, revisionOf(p.previousImage));
    // The workflow's own steps did it: the restore commit, its sync, and the summary job's line.
    assert.match(run.out, /ok +Restore the previous production render .*restored rendered\/production/);
    assert.match(run.out, /ok +Sync the restored production render/);
    const summary = readFileSync(join(run.summaryDir, 'rehearsal.md'), 'utf8');
    assert.match(
      summary,
      /Production: \*\*rolled back\*\* to the previous render .*verification fail: join-success fail/,
    );
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(
      `bad-release: ${Math.round(d.totalMs / 1000)} s, production ${JSON.stringify(p.revisions)}, ${d.verificationFailed.join(', ')}`,
    );
  });

  test('bad-release is refused where it cannot be played', async () => {
    const inProduction = await rehearse(['--fault', 'bad-release', '--fault-in', 'production'], 60_000);
    assert.equal(inProduction.code, 1);
    assert.match(inProduction.out, /--fault-in production: bad-release is production's already/);
    const loadtest = await rehearse(['--workflow', 'loadtest', '--fault', 'bad-release'], 60_000);
    assert.equal(loadtest.code, 1);
    assert.match(loadtest.out, /--fault bad-release: only deploy\.yml's rehearsal promotes to production/);
    const preview = await rehearse(['--workflow', 'preview', '--fault', 'bad-release'], 60_000);
    assert.equal(preview.code, 1);
    assert.match(preview.out, /--fault bad-release: only deploy\.yml's rehearsal promotes to production/);
  });
});
