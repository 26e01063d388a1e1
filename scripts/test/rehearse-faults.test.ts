// `npm run rehearse` with each fault, as a user runs it (a child process): deploy.yml played on this
// machine in short mode; the SLO gate fails that fault's objective, production is skipped, exit 2.
// (rehearse.test.ts plays the healthy run and Ctrl-C.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertNothingLeft, decisionOf, rehearse, runIdOf } from './rehearse-child.js';

describe('npm run rehearse --fault (short mode)', { timeout: 2_400_000 }, () => {
  // Each fault and the gate.json objective it must break (scripts/lib/rehearse/faults.ts says why).
  const expected = [
    ['latency', 'delivery-latency'],
    ['kill-node', 'server-availability'],
    ['redis-down', 'cross-node-delivery'],
    ['slow-consumer', 'slow-consumer-closes'],
  ] as const;
  for (const [fault, objective] of expected) {
    test(`${fault} fault: the SLO gate fails ${objective} (evaluated even when the load test already stopped deploy.yml), production skipped, exit 2`, async () => {
      const run = await rehearse(['--short', '--skip-image', '--fault', fault], 600_000);
      assert.equal(run.code, 2, run.out.slice(-6000));
      const decision = decisionOf(run);
      assert.equal(decision.promote, false);
      assert.equal(decision.fault, fault);
      assert.equal(decision.gateVerdict, 'fail');
      assert.ok(decision.failedObjectives.includes(objective), JSON.stringify(decision));
      assert.equal(decision.faultCaught, true);
      // Production, next to it in the same Prometheus, passes its own gate (one fault, one environment).
      assert.equal(decision.neighbour?.verdict, 'pass', JSON.stringify(decision.neighbour));
      assert.equal(decision.neighbour?.ok, true);
      assert.match(run.out, new RegExp(`fault ${fault}: the SLO gate failed ${objective}, as expected`));
      assert.match(run.out, new RegExp(`${objective}: [^\\n]+ -> fail`));
      assert.match(run.out, /job production .*: skipped/);
      // The page a browser opens: the gate's chart of the broken objective, mermaid beside it (issue 15 §5).
      const page = readFileSync(join(run.summaryDir, 'summary.html'), 'utf8');
      assert.match(
        page,
        new RegExp(`<pre class="mermaid">[^<]*xychart-beta\\n {4}title &#34;${objective}: at (least|most) `),
      );
      assert.ok(existsSync(join(run.summaryDir, 'mermaid.min.js')));
      if (decision.loadTestPassed === false) {
        // deploy.yml stops at the failed load test; the gate was played anyway, as a diagnostic.
        assert.equal(decision.gateDiagnostic, true);
        assert.match(run.out, /\[diagnostic\] job staging/);
      }
      await assertNothingLeft(run, runIdOf(run.out));
      console.log(
        `${fault} fault rehearsal: ${Math.round(decision.totalMs / 1000)} s, failed ${decision.failedObjectives.join(', ')}`,
      );
    });
  }
});
