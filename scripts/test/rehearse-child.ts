// Runs `npm run rehearse` as a child process, as a user does, for the rehearsal tests: its exit,
// output, decision.json, and whether anything it started is left (processes, ports, containers).
import assert from 'node:assert/strict';
// node:child_process: the rehearsal is a long-lived child the test reads line by line, signals (SIGINT,
// twice) and whose descendants it polls by pid while it runs.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { descendantPids } from '../lib/rehearse/teardown.js';
import { repoRoot } from './validate-fixtures.js';

export interface Run {
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
 * Runs the rehearsal; `onLine` may return 'interrupt' to send SIGINT (once), 'interrupt-again' to send
 * another. Records the descendants every
 * 250 ms so the test can check none survives. Bounded by `timeoutMs` (then SIGKILL, and a failure).
 */
export function rehearse(
  args: string[],
  timeoutMs: number,
  onLine?: (line: string) => 'interrupt' | 'interrupt-again' | void,
): Promise<Run> {
  const summaryDir = mkdtempSync(join(tmpdir(), 'sb-rehearse-test-'));
  dirs.push(summaryDir);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/rehearse.ts', ...args, '--summary-dir', summaryDir],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        REHEARSE_FAULT: '',
        REHEARSE_FAULT_IN: '',
        REHEARSE_SHORT: '',
        REHEARSE_SKIP_IMAGE: '',
        REHEARSE_WORKFLOW: '',
      },
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
      const action = onLine?.(line);
      if (!interrupted && action === 'interrupt') {
        interrupted = true;
        child.kill('SIGINT');
      } else if (action === 'interrupt-again') {
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

/**
 * Processes of `seen` still running (zombies waiting to be reaped do not count), described as
 * "pid (command line)". Polls until none is left or `ceilingMs` passed: a process killed at the
 * exit takes a moment to go; one still there at the ceiling outlived the run.
 */
export async function survivingPids(seen: Set<number>, ceilingMs = 5000): Promise<string[]> {
  const deadline = Date.now() + ceilingMs;
  let left = [...seen].filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(alive);
  }
  return left.map(describePid);
}

/** "pid (command line)" for a failure message: which process outlived the run says why. */
function describePid(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return `${pid} (${cmd.slice(0, 200)})`;
  } catch {
    return String(pid);
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

/** The pid listening on `port` (from `ss`), or null when it cannot be told. */
function listenerPid(port: number): number | null {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * True when `pid` belongs to another test file of the same `node --test` run: it descends from
 * the runner (this file's parent) but not from this file. The rehearsal's ports are ephemeral, so
 * one it freed can be taken by a test running beside it (a fresh-clone run saw it once). A process
 * the rehearsal left behind descends from this file, or from init once its parent is gone.
 */
function heldByAnotherTest(pid: number): boolean {
  return descendantPids(process.ppid).includes(pid) && !descendantPids(process.pid).includes(pid);
}

/** Every 127.0.0.1 port the run printed (registry, redis, postgresql, pods, nginx, prometheus). */
function printedPorts(out: string): number[] {
  return [...new Set([...out.matchAll(/127\.0\.0\.1:(\d{4,5})/g)].map((m) => Number(m[1])))];
}

export async function assertNothingLeft(run: Run, runId: string): Promise<void> {
  const survivors = await survivingPids(run.seen);
  assert.deepEqual(
    survivors,
    [],
    `processes the rehearsal started are still running: ${survivors.join(', ')}`,
  );
  const open: string[] = [];
  for (const port of printedPorts(run.out)) {
    if (!(await portOpen(port))) continue;
    const owner = listenerPid(port);
    if (owner !== null && heldByAnotherTest(owner)) continue;
    open.push(owner === null ? String(port) : `${port} held by ${describePid(owner)}`);
  }
  assert.deepEqual(open, [], `ports the rehearsal printed are still listening: ${open.join(', ')}`);
  const containers = execFileSync(
    'podman',
    ['ps', '--all', '--quiet', '--filter', `label=io.switchboard.rehearsal=${runId}`],
    { encoding: 'utf8' },
  ).trim();
  assert.equal(containers, '', `containers of ${runId} are left: ${containers}`);
}

export function runIdOf(out: string): string {
  const m = /switchboard-(rh\d+)-0/.exec(out);
  assert.ok(m, `no pod name in the output:\n${out.slice(-3000)}`);
  return m[1]!;
}

export interface DecisionFile {
  promote: boolean;
  /** Production's verification failed after the promotion and the previous render was restored. */
  rolledBack: boolean;
  verificationVerdict?: string;
  verificationFailed: string[];
  /** --canary: production's canary against its stable pods, what it did not pass, whether it was removed. */
  canaryVerdict?: string;
  canaryFailed: string[];
  canaryRemoved: boolean;
  /** Each objective's value on the canary's pod and on the stable pods over the same window. */
  canaryValues: Array<{ name: string; canary: number | null; stable: number | null }> | null;
  /** Each sync of production: the canary's pod it started or pruned, the connections its move Job moved. */
  productionSyncs: {
    ok: boolean;
    image: string;
    canaryImage: string | null;
    canaryStarted: string | null;
    canaryPruned: string | null;
    moved: number | null;
    from: string[];
    to: string[];
  }[];
  productionTraffic: { rounds: number; failedRounds: number; endedAt: string } | null;
  faultAsExpected?: boolean;
  /** Production after the workflow: what it was verified on and which release it ends on. */
  production: {
    verdict: string | null;
    failedObjectives: string[];
    rolledBack: boolean;
    previousImage: string;
    promotedImage: string;
    deployBranchImage: string;
    revisions: Record<string, string>;
    endsOn: 'previous' | 'promoted' | 'mixed';
  } | null;
  gateVerdict?: string;
  gateDiagnostic: boolean;
  loadTestPassed?: boolean;
  failedObjectives: string[];
  faultCaught?: boolean;
  fault: string | null;
  /** Where the fault went: staging (deployed) or production (the neighbour). */
  faultIn: string | null;
  /** Production, run next to staging in the same Prometheus and judged with its own selector. */
  neighbour: {
    environment: string;
    selector: string;
    verdict: string;
    failedObjectives: string[];
    ok: boolean;
  } | null;
  /** --scale-up: the verdict and what scripts/lib/rehearse/scale-up.ts recorded. */
  scaleUp: {
    ok: boolean;
    line: string;
    from: number;
    to: number;
    convergedAfterMs?: number;
    before: { pod: string; connections: number }[];
    after: { pod: string; connections: number }[];
    samples: { atMs: number; connections: number[] }[];
  } | null;
  timings: { name: string; ms: number; outcome: string }[];
  totalMs: number;
}

export function decisionOf(run: Run): DecisionFile {
  const file = join(run.summaryDir, 'decision.json');
  assert.ok(existsSync(file), `no decision.json; output:\n${run.out.slice(-5000)}`);
  return JSON.parse(readFileSync(file, 'utf8')) as DecisionFile;
}
