// `npm run rehearse` for real, as a user runs it (a child process): deploy.yml played on this machine
// in short mode. Healthy with the image built by buildah and run by podman -> promote, exit 0; with
// each fault -> the SLO gate fails that fault's objective, exit 2; Ctrl-C while the load runs ->
// exit 130 and nothing it started is left (processes, containers, ports).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { descendantPids } from '../lib/rehearse/teardown.js';
import { repoRoot } from './validate-fixtures.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  summaryDir: string;
  /** Every process that was a descendant of the rehearsal at some point. */
  seen: Set<number>;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs the rehearsal; `onLine` may return 'interrupt' to send SIGINT. Records the descendants every
 * 250 ms so the test can check none survives. Bounded by `timeoutMs` (then SIGKILL, and a failure).
 */
function rehearse(
  args: string[],
  timeoutMs: number,
  onLine?: (line: string) => 'interrupt' | void,
): Promise<Run> {
  const summaryDir = mkdtempSync(join(tmpdir(), 'sb-rehearse-test-'));
  dirs.push(summaryDir);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/rehearse.ts', ...args, '--summary-dir', summaryDir],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REHEARSE_FAULT: '', REHEARSE_SHORT: '', REHEARSE_SKIP_IMAGE: '' },
    },
  );
  const seen = new Set<number>();
  const poll = setInterval(() => {
    for (const pid of descendantPids(child.pid)) seen.add(pid);
  }, 250);
  let out = '';
  let pending = '';
  let interrupted = false;
  const onData = (d: Buffer) => {
    out += d.toString();
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!interrupted && onLine?.(line) === 'interrupt') {
        interrupted = true;
        child.kill('SIGINT');
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`rehearse ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${out.slice(-5000)}`),
      );
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, signal, out, summaryDir, seen });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Every 127.0.0.1 port the run printed (registry, redis, postgresql, pods, nginx, prometheus). */
function printedPorts(out: string): number[] {
  return [...new Set([...out.matchAll(/127\.0\.0\.1:(\d{4,5})/g)].map((m) => Number(m[1])))];
}

async function assertNothingLeft(run: Run, runId: string): Promise<void> {
  // Give exiting children a moment to be reaped.
  await new Promise((r) => setTimeout(r, 1000));
  const survivors = [...run.seen].filter(alive);
  assert.deepEqual(
    survivors,
    [],
    `processes the rehearsal started are still running: ${survivors.join(', ')}`,
  );
  const open: number[] = [];
  for (const port of printedPorts(run.out)) if (await portOpen(port)) open.push(port);
  assert.deepEqual(open, [], `ports the rehearsal printed are still listening: ${open.join(', ')}`);
  const containers = execFileSync(
    'podman',
    ['ps', '--all', '--quiet', '--filter', `label=io.switchboard.rehearsal=${runId}`],
    { encoding: 'utf8' },
  ).trim();
  assert.equal(containers, '', `containers of ${runId} are left: ${containers}`);
}

function runIdOf(out: string): string {
  const m = /switchboard-(rh\d+)-0/.exec(out);
  assert.ok(m, `no pod name in the output:\n${out.slice(-3000)}`);
  return m[1]!;
}

interface DecisionFile {
  promote: boolean;
  gateVerdict?: string;
  gateDiagnostic: boolean;
  loadTestPassed?: boolean;
  failedObjectives: string[];
  faultCaught?: boolean;
  fault: string | null;
  timings: { name: string; ms: number; outcome: string }[];
  totalMs: number;
}

function decisionOf(run: Run): DecisionFile {
  const file = join(run.summaryDir, 'decision.json');
  assert.ok(existsSync(file), `no decision.json; output:\n${run.out.slice(-5000)}`);
  return JSON.parse(readFileSync(file, 'utf8')) as DecisionFile;
}

describe('npm run rehearse (short mode)', { timeout: 2_400_000 }, () => {
  test('healthy, image built with buildah and run with podman: every job in order, gate passes, promote, exit 0', async () => {
    const run = await rehearse(['--short'], 1_500_000);
    assert.equal(run.code, 0, run.out.slice(-6000));
    const decision = decisionOf(run);
    assert.equal(decision.promote, true);
    assert.equal(decision.gateVerdict, 'pass');
    assert.equal(decision.loadTestPassed, true);
    // deploy.yml's jobs, in order, with progress and timings.
    const jobs = [...run.out.matchAll(/^\[(\d+)\/(\d+)\] job (\S+) .*(succeeded|skipped|FAILED)/gm)].map(
      (m) => m[3],
    );
    assert.deepEqual(jobs, [
      'build',
      'render-staging',
      'sync-staging',
      'loadtest-staging',
      'gate-staging',
      'rollback-staging',
      'production',
      'summary',
    ]);
    assert.match(run.out, /job rollback-staging .*: skipped/);
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
    // nginx got the Ingress's WebSocket timeouts; the pods the ConfigMap's drain window.
    const md = readFileSync(join(run.summaryDir, 'rehearsal.md'), 'utf8');
    assert.match(md, /proxy-read-timeout=3600/);
    assert.match(md, /\| DRAIN_WINDOW_MS \| 30000 \| configmap switchboard-config \|/);
    assert.match(md, /## SLO gate: pass/);
    assert.match(md, /## Promotion decision: promote/);
    // The job summary file holds what the actions write (HTML tables via @actions/core).
    const html = readFileSync(join(run.summaryDir, 'job-summary.md'), 'utf8');
    assert.match(html, /<h2>SLO gate: pass<\/h2>/);
    assert.match(html, /<h2>Load test fanout: passed<\/h2>/);
    assert.match(html, /## Deployment of [0-9a-f]{12}/);
    await assertNothingLeft(run, runIdOf(run.out));
    console.log(`healthy rehearsal with the image build: ${Math.round(decision.totalMs / 1000)} s`);
  });

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
      assert.match(run.out, new RegExp(`fault ${fault}: the SLO gate failed ${objective}, as expected`));
      assert.match(run.out, new RegExp(`${objective}: [^\\n]+ -> fail`));
      assert.match(run.out, /job production .*: skipped/);
      if (decision.loadTestPassed === false) {
        // deploy.yml stops at the failed load test; the gate was played anyway, as a diagnostic.
        assert.equal(decision.gateDiagnostic, true);
        assert.match(run.out, /job gate-staging .*: skipped/);
        assert.match(run.out, /\[diagnostic\] job gate-staging/);
      }
      await assertNothingLeft(run, runIdOf(run.out));
      console.log(
        `${fault} fault rehearsal: ${Math.round(decision.totalMs / 1000)} s, failed ${decision.failedObjectives.join(', ')}`,
      );
    });
  }

  test('Ctrl-C while the load test runs: exit 130, no process, port or container left', async () => {
    const run = await rehearse(['--short', '--skip-image'], 600_000, (line) =>
      /fanout 6s\/40s/.test(line) ? 'interrupt' : undefined,
    );
    assert.equal(run.code, 130, run.out.slice(-6000));
    assert.match(run.out, /SIGINT: stopping everything it started/);
    assert.match(run.out, /rehearse: stopped/);
    assert.ok(run.seen.size >= 5, `saw only ${run.seen.size} child processes`);
    await assertNothingLeft(run, runIdOf(run.out));
  });
});
