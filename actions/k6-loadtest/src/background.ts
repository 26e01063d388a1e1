// phase: start and phase: wait -- a load test that runs while later steps of the same job do other
// work (a deploy's sync inside the load window). `start` writes the validated config (no secrets) to a
// state folder under RUNNER_TEMP and starts a detached worker process (this action's own entry point,
// told by an environment variable to run the test); the folder's path is the `handle`. The worker
// runs the test exactly as `run` does and writes result.json when the test ends. `wait` reads the
// handle, waits for result.json (bounded) and reads the summary. On GitHub a process a step started
// keeps running until the job ends; the runner stops it then.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadTestConfig } from './config.js';

/** The environment variable that makes the entry point the worker of the state folder it names. */
export const WORKER_ENV = 'SWITCHBOARD_K6_LOADTEST_WORKER';
/** Secrets reach the worker by environment, never in the state folder. */
const TOKEN_ENV = 'SWITCHBOARD_K6_LOADTEST_TOKEN';
const JWT_SECRET_ENV = 'SWITCHBOARD_K6_LOADTEST_JWT_SECRET';

/** What `start` leaves in the state folder. */
interface StartState {
  config: Omit<LoadTestConfig, 'token' | 'jwtSecret'>;
  startedAt: string;
  pid?: number;
}

/** What the worker writes when the test has ended. */
export interface WorkerResult {
  endedAt: string;
  /** Set when the test could not give a verdict (the engine failed), not when a threshold failed. */
  error?: string;
  /** Operator mode: the TestRun's name. */
  testRun?: string;
}

/** A started load test: the state folder (the `handle` output) and when it started. */
export interface Started {
  handle: string;
  startedAt: string;
}

const statePath = (handle: string) => join(handle, 'state.json');
const resultPath = (handle: string) => join(handle, 'result.json');
/** The worker's output (the engine's progress lines). */
export const logPath = (handle: string) => join(handle, 'log.txt');

/** This action's entry point: dist/index.js in the bundle, src/index.ts under tsx. */
function entryPoint(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), here.endsWith('.ts') ? 'index.ts' : 'index.js');
}

/** The module loaders this process runs with (tsx under the tests); no other flag of ours is the worker's. */
function loaderArgs(execArgv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (/^--(import|require|loader|experimental-loader)=/.test(a)) out.push(a);
    else if (/^(--import|--require|-r|--loader|--experimental-loader)$/.test(a) && i + 1 < execArgv.length) {
      out.push(a, execArgv[++i]!);
    }
  }
  return out;
}

/** Writes `file` whole or not at all (a reader polling for it never sees half of it). */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/**
 * Starts the load test of `config` in a detached worker and returns at once. The state folder is
 * created under `tempDir` (RUNNER_TEMP), so only this job's later steps find it.
 */
export function startInBackground(
  config: LoadTestConfig,
  tempDir: string,
  extra: { startedAt?: Date; worker?: boolean } = {},
): Started {
  mkdirSync(tempDir, { recursive: true });
  const handle = mkdtempSync(join(tempDir, `k6-loadtest-${config.scenario}-`));
  const { token, jwtSecret, ...rest } = config;
  const startedAt = (extra.startedAt ?? new Date()).toISOString();
  const state: StartState = { config: rest, startedAt };
  writeAtomically(statePath(handle), `${JSON.stringify(state, null, 2)}\n`);
  if (extra.worker === false) return { handle, startedAt };
  const log = openSync(logPath(handle), 'a', 0o600);
  try {
    const { NODE_TEST_CONTEXT: _testRunner, ...env } = process.env;
    const child = spawn(process.execPath, [...loaderArgs(process.execArgv), entryPoint()], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...env, [WORKER_ENV]: handle, [TOKEN_ENV]: token, [JWT_SECRET_ENV]: jwtSecret },
    });
    child.unref();
    writeAtomically(statePath(handle), `${JSON.stringify({ ...state, pid: child.pid }, null, 2)}\n`);
  } finally {
    closeSync(log);
  }
  return { handle, startedAt };
}

/** The worker's side: the config `start` saved, with the secrets from the environment. */
export function workerConfig(handle: string, env: NodeJS.ProcessEnv = process.env): LoadTestConfig {
  const state = JSON.parse(readFileSync(statePath(handle), 'utf8')) as StartState;
  return { ...state.config, token: env[TOKEN_ENV] ?? '', jwtSecret: env[JWT_SECRET_ENV] ?? '' };
}

/** The worker's last act: the result `wait` waits for. */
export function writeWorkerResult(handle: string, result: WorkerResult): void {
  writeAtomically(resultPath(handle), `${JSON.stringify(result)}\n`);
}

/**
 * Checks a `handle` input: a state folder `start` created under `tempDir`. It comes from outside
 * (an expression in the workflow), so anything else -- another path, `..`, a symlink out -- is refused.
 */
export function checkHandle(handle: string, tempDir: string | undefined): string {
  if (!tempDir) throw new Error('handle: RUNNER_TEMP is not set; phase wait finds its load test there');
  if (!handle) {
    throw new Error(
      'handle is required in phase wait: the handle output of the phase start step, e.g. ${{ steps.load.outputs.handle }}',
    );
  }
  if (!isAbsolute(handle)) throw new Error(`handle: "${handle}" is not an absolute path`);
  const root = realpathSync(tempDir);
  const real = existsSync(handle) ? realpathSync(handle) : resolve(handle);
  const rel = relative(root, real);
  if (!rel || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) {
    throw new Error(
      `handle: "${handle}" is not a state folder of phase start in RUNNER_TEMP (${tempDir}); pass the start step's handle output unchanged`,
    );
  }
  if (!/^k6-loadtest-[a-z0-9-]+-[A-Za-z0-9]{6}$/.test(rel) || !existsSync(statePath(real))) {
    throw new Error(`handle: "${handle}" holds no load test started by phase start (no state.json)`);
  }
  return real;
}

/** The test `start` started in `handle`: its config (without secrets) and start time. */
export function readStarted(handle: string): { config: LoadTestConfig; startedAt: string; pid?: number } {
  const state = JSON.parse(readFileSync(statePath(handle), 'utf8')) as StartState;
  return { ...state, config: { ...state.config, token: '', jwtSecret: '' } };
}

/** What `wait` returns: the test's config and span, and how the worker ended. */
export interface Waited {
  config: LoadTestConfig;
  startedAt: string;
  result: WorkerResult;
  /** The worker's output, to show in the step log. */
  log: string;
}

/**
 * Waits until the worker of `handle` has written its result, polling every `pollMs`, at most
 * `timeoutMs`; then returns it. Throws on timeout with the end of the worker's output.
 */
export async function waitForBackground(
  handle: string,
  opts: { timeoutMs: number; pollMs?: number },
): Promise<Waited> {
  const state = readStarted(handle);
  const readLog = () => (existsSync(logPath(handle)) ? readFileSync(logPath(handle), 'utf8') : '');
  const deadline = Date.now() + opts.timeoutMs;
  while (!existsSync(resultPath(handle))) {
    if (state.pid !== undefined && !alive(state.pid) && !existsSync(resultPath(handle))) {
      throw new Error(
        `the load test's worker (pid ${state.pid}) exited without a result:\n${readLog().slice(-2000)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the load test started at ${state.startedAt} did not end within ${opts.timeoutMs / 1000}s; raise timeout-seconds above its duration plus start-up:\n${readLog().slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
  const result = JSON.parse(readFileSync(resultPath(handle), 'utf8')) as WorkerResult;
  return { config: state.config, startedAt: state.startedAt, result, log: readLog() };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
