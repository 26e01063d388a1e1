// Two environments in one Prometheus (issue 13, section 3): the rehearsal runs production as committed
// next to the staging deploy, both scraped by the same Prometheus with the ServiceMonitor's target
// labels. A fault injected into production must fail production's gate on its objective and leave
// staging's gate passing (staging is promoted); scripts/test/rehearse.test.ts checks the other way
// round (each staging fault fails staging's gate, production's passes). With the gate's `$selector`
// dropped, staging's gate sees production's series and fails: exit 3.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertNothingLeft, decisionOf, rehearse, runIdOf } from './rehearse-child.js';

describe('npm run rehearse: two environments in one Prometheus', { timeout: 1_500_000 }, () => {
  // Each fault and the gate.json objective it must break in the environment it is injected into.
  const cases = [
    ['kill-node', 'server-availability'],
    ['latency', 'delivery-latency'],
  ] as const;
  for (const [fault, objective] of cases) {
    test(`${fault} in production: production's gate fails ${objective}, staging's gate passes (promote, exit 0)`, async () => {
      const run = await rehearse(
        ['--short', '--skip-image', '--fault', fault, '--fault-in', 'production'],
        600_000,
      );
      const d = decisionOf(run);
      assert.equal(d.faultIn, 'production');
      // Staging: its gate judges its own series only and passes next to production's fault.
      assert.equal(d.gateVerdict, 'pass', `${JSON.stringify(d)}\n${run.out.slice(-6000)}`);
      assert.deepEqual(d.failedObjectives, []);
      if (d.loadTestPassed) {
        assert.equal(run.code, 0, run.out.slice(-6000));
        assert.equal(d.promote, true);
      } else {
        // The load test's client-side thresholds see this machine's CPU, which both environments
        // share (a cluster gives them their own nodes); the gate, played as a diagnostic, still passed.
        assert.equal(run.code, 2, run.out.slice(-6000));
        assert.equal(d.gateDiagnostic, true);
      }
      // Production: the same gate inputs with its own selector fail the fault's objective.
      assert.ok(d.neighbour, JSON.stringify(d));
      assert.equal(d.neighbour.environment, 'production');
      assert.equal(d.neighbour.selector, 'namespace="switchboard-production"');
      assert.equal(d.neighbour.verdict, 'fail');
      assert.ok(d.neighbour.failedObjectives.includes(objective), JSON.stringify(d.neighbour));
      assert.equal(d.neighbour.ok, true);
      assert.match(run.out, new RegExp(`injecting fault ${fault} into production`));
      assert.match(
        run.out,
        new RegExp(`fault ${fault} in production: its gate failed ${objective}, as expected`),
      );
      assert.match(run.out, /the deployed environment's gate passed next to it/);
      // Production's pods, databases, edge and traffic are stopped too.
      await assertNothingLeft(run, runIdOf(run.out));
      console.log(
        `${fault} in production: ${Math.round(d.totalMs / 1000)} s; production failed ${d.neighbour.failedObjectives.join(', ')}`,
      );
    });
  }

  test('--fault-in is checked before anything starts', async () => {
    const wrong = await rehearse(['--fault-in', 'preview-42', '--fault', 'latency'], 60_000);
    assert.equal(wrong.code, 1);
    assert.match(wrong.out, /--fault-in: "preview-42" is not staging or production/);
    const alone = await rehearse(['--fault-in', 'production'], 60_000);
    assert.equal(alone.code, 1);
    assert.match(alone.out, /--fault-in production needs a --fault/);
    // Only deploy.yml's rehearsal runs production; preview.yml's runs no load test to inject into.
    const loadtest = await rehearse(
      ['--workflow', 'loadtest', '--fault', 'latency', '--fault-in', 'production'],
      60_000,
    );
    assert.equal(loadtest.code, 1);
    assert.match(loadtest.out, /--fault-in production: only deploy\.yml's rehearsal runs production/);
    const preview = await rehearse(['--workflow', 'preview', '--fault', 'latency'], 60_000);
    assert.equal(preview.code, 1);
    assert.match(preview.out, /--fault latency: preview\.yml's rehearsal runs no load test/);
  });
});
