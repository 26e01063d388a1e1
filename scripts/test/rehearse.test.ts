// `npm run rehearse` for real, as a user runs it (a child process): deploy.yml played on this machine
// in short mode. Healthy with the image built by buildah and run by podman -> promote, exit 0; Ctrl-C
// while the load runs -> exit 130 and nothing it started is left (processes, containers, ports).
// Each fault is rehearse-faults.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertNothingLeft, decisionOf, rehearse, runIdOf } from './rehearse-child.js';

describe('npm run rehearse (short mode)', { timeout: 2_400_000 }, () => {
  test('healthy, image built with buildah and run with podman: every job in order, gate passes, promote, exit 0', async () => {
    const run = await rehearse(['--short'], 1_500_000);
    assert.equal(run.code, 0, run.out.slice(-6000));
    const decision = decisionOf(run);
    assert.equal(decision.promote, true);
    assert.equal(decision.gateVerdict, 'pass');
    assert.equal(decision.loadTestPassed, true);
    assert.equal(decision.neighbour?.verdict, 'pass', JSON.stringify(decision.neighbour));
    // deploy.yml's jobs, in order, with progress and timings.
    const jobs = [...run.out.matchAll(/^\[(\d+)\/(\d+)\] job (\S+) .*(succeeded|skipped|FAILED)/gm)].map(
      (m) => m[3],
    );
    assert.deepEqual(jobs, ['build', 'dev', 'staging', 'production', 'summary']);
    // The staging job's restore steps (failure() || cancelled()) do not run when everything passed.
    assert.doesNotMatch(run.out, /Restore the previous staging render/);
    // The image really was built, pushed to the loopback registry, and is what the pods run.
    const pushed =
      /ok {3}Run \.\/actions\/build-image \([^)]*\): (127\.0\.0\.1:\d+\/switchboard\/server@sha256:[0-9a-f]{64})/.exec(
        run.out,
      );
    assert.ok(pushed, 'build-image pushed to 127.0.0.1');
    assert.match(
      run.out,
      new RegExp(`stand-in synced to [0-9a-f]{12}: \\d+ pods of ${pushed[1]!.replace(/[.]/g, '\\.')}`),
    );
    assert.match(run.out, /ready on 127\.0\.0\.1:\d+ \(container [0-9a-f]{12}\)/);
    // nginx got the edge's WebSocket timeouts; the pods the ConfigMap's drain window.
    const md = readFileSync(join(run.summaryDir, 'rehearsal.md'), 'utf8');
    // The edge's WebSocket timeout: the HTTPRoute's policy (Envoy Gateway) or the Ingress annotation.
    assert.match(md, /streamIdleTimeout=3600s|proxy-read-timeout=3600/);
    // The rehearsal's drain window fits the rolling update into the 60 s load (the ConfigMap says 30 s).
    assert.match(md, /\| DRAIN_WINDOW_MS \| 6000 \(a tenth of the load's duration[^|]*\| rehearsal \|/);
    assert.match(md, /## SLO gate: pass/);
    assert.match(md, /## Promotion decision: promote/);
    // Argo CD's sync of the empty namespace, wave by wave: the Jobs that form the Redis Cluster and
    // migrate the database before the server, whose pods run against that cluster (issue 13, item 5).
    assert.match(run.out, /Sync wave -1: Namespace\/switchboard-staging\n/);
    assert.match(run.out, /Sync wave 1: Job\/redis-cluster-create, Job\/switchboard-migrate\n/);
    assert.match(run.out, /Sync wave 2: Deployment\/switchboard, HorizontalPodAutoscaler\/switchboard\n/);
    assert.match(md, /## Argo CD sync of switchboard-staging: Succeeded/);
    assert.match(md, /\| BROKER \| redis-cluster \| configmap switchboard-config \|/);
    // The job summary file holds what the actions write (HTML tables via @actions/core).
    const html = readFileSync(join(run.summaryDir, 'job-summary.md'), 'utf8');
    assert.match(html, /<h2>SLO gate: pass<\/h2>/);
    assert.match(html, /<h2>Load test rollout: passed<\/h2>/);
    assert.match(html, /## Deployment of [0-9a-f]{12}/);
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(`healthy rehearsal with the image build: ${Math.round(decision.totalMs / 1000)} s`);
  });

  test('Ctrl-C while the load test runs: exit 130, no process, port or container left', async () => {
    const run = await rehearse(['--short', '--skip-image'], 600_000, (line) =>
      /rollout 6s\/60s/.test(line) ? 'interrupt' : undefined,
    );
    assert.equal(run.code, 130, run.out.slice(-6000));
    assert.match(run.out, /SIGINT: stopping everything it started/);
    assert.match(run.out, /rehearse: stopped/);
    assert.ok(run.seen.size >= 5, `saw only ${run.seen.size} child processes`);
    await assertNothingLeft(run, runIdOf(run.out));
  });
});
