// deploy.yml's staging job for real (`npm run rehearse --short --skip-image --duration 60s`: 60 s leave
// room for 3 pods to roll on a busy machine): staging runs its previous release, the load test starts
// (phase start), the sync rolls every pod as the Deployment's RollingUpdate does while the rollout
// scenario's clients count what they miss, then the load is awaited (phase wait) and the gate judges
// messages-lost and reconnect-p99 from its summary. Healthy: 0 lost, 0 duplicated, promote. With
// history lost while the pods roll: the gate fails recovery-success and messages-lost and nothing
// else, exit 2.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { LoadSummary } from '../../pipeline/src/k6/index.js';
import type { RolloutFigures } from '../lib/rehearse/rollout-report.js';
import { assertNothingLeft, decisionOf, rehearse, runIdOf, type Run } from './rehearse-child.js';

/** switchboard_build_info's revision the stand-in gives the pods of `image` (neighbour.ts revisionEnv). */
const revisionOf = (image: string) => `digest-${/@sha256:([0-9a-f]{12})/.exec(image)?.[1] ?? 'none'}`;

/** decision.json's `rollout`: the figures and the roll's steps. */
type Rollout = RolloutFigures & { events: string[] };

function rolloutOf(run: Run): Rollout {
  const rollout = (decisionOf(run) as unknown as { rollout: Rollout | null }).rollout;
  assert.ok(rollout, `no rolling update during the load:\n${run.out.slice(-6000)}`);
  return rollout;
}

function loadSummaryOf(run: Run): LoadSummary {
  const path = /the gate reads the load test's summary: (\S+)/.exec(run.out)?.[1];
  assert.ok(path, `the gate was not given the load test's summary:\n${run.out.slice(-4000)}`);
  return JSON.parse(readFileSync(path, 'utf8')) as LoadSummary;
}

function figures(label: string, r: Rollout, totalMs: number): string {
  return (
    `${label} (${Math.round(totalMs / 1000)} s): ${r.replaced} pods rolled ${(r.startedAtMs / 1000).toFixed(1)}-` +
    `${(r.endedAtMs / 1000).toFixed(1)} s into the ${(r.loadMs / 1000).toFixed(1)} s load; lost ${r.lost}, duplicated ` +
    `${r.duplicated}, reordered ${r.reordered}; reconnect p99 ${r.reconnectP99Ms?.toFixed(0)} ms (${r.reconnects} ` +
    `reconnects); connects peak ${r.connectsPeak1s}/s, ${r.connectsPeak100ms} in 100 ms; reconnects peak ` +
    `${r.reconnectsPeak1s}/s, ${r.reconnectsPeak100ms} in 100 ms`
  );
}

describe(
  "npm run rehearse: deploy.yml's sync rolls staging inside the load window",
  { timeout: 1_500_000 },
  () => {
    test("healthy: every pod replaced while the rollout scenario runs, 0 lost, 0 duplicated, the gate passes on the summary; production's canary passes, promote, verified", async () => {
      // One rehearsal for the whole healthy path: staging's roll, production's canary
      // (rehearse-canary.test.ts has the failing one), the promotion and its verification.
      const run = await rehearse(['--short', '--skip-image', '--duration', '60s', '--canary', '25'], 700_000);
      const decision = decisionOf(run);
      const why = `${JSON.stringify(decision, null, 1)}\n${run.out.slice(-8000)}`;
      assert.equal(decision.gateVerdict, 'pass', why);
      // Production's own gate over its traffic next to staging's load, before the promotion: its clients
      // for the verification start after that window, so they weigh on neither.
      assert.equal(decision.neighbour?.ok, true, why);
      assert.equal(run.code, 0, why);
      assert.equal(decision.promote, true);
      // The workflow's order: the load started, then the sync, then the load awaited.
      const order = [
        /staging: the previous release \(the committed render\): done/,
        /Run \.\/actions\/k6-loadtest \([^)]*\): started in the background/,
        /Run \.\/actions\/argocd-sync \([^)]*\): stand-in synced to [0-9a-f]{12}: 3 pods of [^,]+, rolled/,
        /Run \.\/actions\/k6-loadtest \([^)]*\): passed/,
        /Run \.\/actions\/slo-gate/,
      ].map((re) => {
        const at = run.out.search(re);
        assert.ok(at >= 0, `${re} not in the output:\n${run.out.slice(-8000)}`);
        return at;
      });
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        'steps out of order',
      );
      const rollout = rolloutOf(run);
      assert.equal(rollout.replaced, 3);
      assert.equal(rollout.insideLoad, true, JSON.stringify(rollout));
      // Every old pod drained and left; new ones came first (maxSurge 1, maxUnavailable 0).
      assert.equal(rollout.events.filter((e) => / exited$/.test(e)).length, 3, rollout.events.join('\n'));
      assert.match(rollout.events[0] ?? '', /ready: in the endpoints/);
      assert.equal(rollout.lost, 0);
      assert.equal(rollout.duplicated, 0);
      assert.ok((rollout.reconnects ?? 0) > 0, 'clients reconnected');
      assert.ok(rollout.reconnectP99Ms !== undefined && rollout.connectsPeak1s !== undefined);
      const summary = loadSummaryOf(run);
      assert.equal(summary.scenario, 'rollout');
      // The gate judged the clients' own counts, and the server saw recoveries.
      assert.match(run.out, /\| messages-lost \| [^\n]+ \| 0 \| <= 0 \| pass \|/);
      assert.match(run.out, /\| reconnect-p99 \| [^\n]+ \| \d+ ms \| <= 5000 ms \| pass \|/);
      assert.match(run.out, /recovery-success: 1 \(>= 0\.999\) -> pass/);
      // Production's canary (issue 18 §2): the stable pods unchanged, a canary pod of the promoted
      // image, connections moved to it, its comparison with the stable pods passed; then the full
      // render pruned the canary and rolled the stable pods to the image the canary ran.
      assert.equal(decision.canaryVerdict, 'pass', why);
      assert.deepEqual(decision.canaryFailed, [], why);
      assert.equal(decision.canaryRemoved, false, why);
      const canary = decision.productionSyncs[0]!;
      const full = decision.productionSyncs[1];
      assert.ok(canary.canaryStarted?.startsWith('switchboard-canary-'), why);
      assert.deepEqual(canary.from, canary.to);
      assert.notEqual(canary.canaryImage, canary.image);
      assert.ok((canary.moved ?? 0) > 0, `moved ${canary.moved}`);
      assert.equal(full?.canaryPruned, canary.canaryStarted, why);
      assert.equal(full.image, canary.canaryImage);
      assert.match(run.out, /Job\/switchboard-canary-move: .*closing \d+/);
      // Then production (issue 18 §3, rehearse-verify.test.ts has the failing case): synced, verified
      // against the window before its sync, and it stays on the promoted release.
      assert.equal(decision.rolledBack, false);
      assert.equal(decision.verificationVerdict, 'pass', why);
      assert.deepEqual(decision.verificationFailed, []);
      const p = decision.production!;
      assert.notEqual(p.promotedImage, p.previousImage);
      assert.equal(p.endsOn, 'promoted');
      assert.equal(p.deployBranchImage, p.promotedImage);
      for (const revision of Object.values(p.revisions)) assert.equal(revision, revisionOf(p.promotedImage));
      assert.match(run.out, /against the same window \d+(\.\d+)?s earlier/);
      assert.match(run.out, /rolling update: .* ready: in the endpoints/);
      assert.match(
        readFileSync(join(run.summaryDir, 'rehearsal.md'), 'utf8'),
        /Production verification: pass/,
      );
      await assertNothingLeft(run, runIdOf(run.out));
      console.log(figures('healthy rollout', rollout, decision.totalMs));
      const joins = decision.canaryValues?.find((x) => x.name === 'join-success');
      console.log(
        `canary: moved ${canary.moved}, join-success on the canary ${joins?.canary}, on the stable pods ${joins?.stable}; ` +
          `production verified: ${JSON.stringify(p.revisions)}, its clients ${JSON.stringify(decision.productionTraffic)}`,
      );
    });

    test('rollout-broken-recovery: history lost while the pods roll fails recovery-success and messages-lost only, do not promote, exit 2', async () => {
      const run = await rehearse(
        ['--short', '--skip-image', '--duration', '60s', '--fault', 'rollout-broken-recovery'],
        600_000,
      );
      assert.equal(run.code, 2, run.out.slice(-8000));
      const decision = decisionOf(run);
      assert.equal(decision.promote, false);
      assert.equal(decision.faultCaught, true);
      assert.deepEqual([...decision.failedObjectives].sort(), ['messages-lost', 'recovery-success']);
      const rollout = rolloutOf(run);
      assert.equal(rollout.insideLoad, true);
      assert.ok((rollout.lost ?? 0) > 0, JSON.stringify(rollout));
      assert.match(
        run.out,
        /fault rollout-broken-recovery: the SLO gate failed recovery-success, messages-lost and nothing else/,
      );
      await assertNothingLeft(run, runIdOf(run.out));
      console.log(figures('rollout-broken-recovery', rollout, decision.totalMs));
    });
  },
);
