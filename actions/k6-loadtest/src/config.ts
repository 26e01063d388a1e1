import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseBooleanInput } from '../../../pipeline/src/argocd/index.js';
import { DEFAULT_K6_IMAGE, testRunName } from '../../../pipeline/src/k6/index.js';

/** Reads one input by name (the action passes `core.getInput`). */
export type InputReader = (name: string) => string;

/** Where the test runs. */
export type Mode = 'local' | 'operator';
/** `run` runs the test to its end; `start` starts it in the background; `wait` waits for a started one. */
export type Phase = 'run' | 'start' | 'wait';

/** Reads the `phase` input. */
export function readPhase(input: InputReader): Phase {
  return oneOf(input, 'phase', ['run', 'start', 'wait'], 'run');
}

/** What runs the scenario in local mode: the k6 binary or the Node runner (`npm run loadtest`). */
export type Engine = 'k6' | 'node';

/** k6-operator settings (mode operator). */
export interface OperatorConfig {
  namespace: string;
  name: string;
  parallelism: number;
  image: string;
  kubectl: string;
  context?: string;
  timeoutMs: number;
  pollIntervalMs: number;
  cleanup: boolean;
}

/** The validated inputs of the k6-loadtest action (see action.yml). */
export interface LoadTestConfig {
  scenario: string;
  mode: Mode;
  engine: Engine;
  url: string;
  token: string;
  jwtSecret: string;
  vus?: number;
  duration?: string;
  env: Record<string, string>;
  /** Absolute path of the k6 bundle, base/loadtest/generated/<scenario>.js. */
  bundle: string;
  summaryPath: string;
  failOnThresholds: boolean;
  k6: string;
  operator?: OperatorConfig;
}

const K6_DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** Parses the `env` input: one KEY=VALUE per line (blank lines and # comments ignored). */
export function parseEnvLines(text: string, inputName = 'env'): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(
        `${inputName}: line ${i + 1} is not KEY=VALUE (e.g. ROOMS=10 or PUBLISH_INTERVAL=200ms)`,
      );
    }
    if (key === 'TOKEN' || key === 'TOKENS') {
      throw new Error(`${inputName}: pass the JWT through the token input (a secret), not ${key} in env`);
    }
    env[key] = line.slice(eq + 1).trim();
  }
  return env;
}

/**
 * Reads and checks every input before anything runs; an error names the input and the fix.
 * `workspace` resolves relative paths (GITHUB_WORKSPACE); `runId` names operator TestRuns.
 */
export function readLoadTestConfig(
  input: InputReader,
  context: { workspace: string; tempDir?: string; runId?: string },
): LoadTestConfig {
  const scenario = input('scenario').trim();
  if (!scenario) {
    throw new Error(
      'scenario is required in phases run and start, e.g. fanout or rollout (loadtests/scenarios)',
    );
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(scenario)) {
    throw new Error(
      `scenario: "${scenario}" is not a scenario name; use connect-storm, fanout, presence-churn, rollout or soak (loadtests/scenarios)`,
    );
  }
  const mode = oneOf(input, 'mode', ['local', 'operator'], 'local');
  const engine = oneOf(input, 'engine', ['k6', 'node'], 'k6');
  if (mode === 'operator' && engine === 'node') {
    throw new Error('engine: node runs only in mode local; k6-operator runs k6');
  }
  const bundleDir = input('bundle-dir').trim() || 'base/loadtest/generated';
  const bundle = resolve(context.workspace, bundleDir, `${scenario}.js`);
  if (engine === 'k6' && !existsSync(bundle)) {
    throw new Error(
      `scenario: no k6 bundle ${bundle}; the bundles are written by \`npm run loadtests:bundle\` (check out the repository first)`,
    );
  }
  const token = input('token').trim();
  const jwtSecret = input('jwt-secret').trim();
  if (jwtSecret && engine !== 'node') {
    throw new Error('jwt-secret: only the node engine signs tokens itself; pass a signed JWT in token');
  }
  if (!token && !jwtSecret) {
    throw new Error(
      "token is required: a JWT signed with the environment's JWT_SECRET (join/publish room:*), e.g. ${{ secrets.LOADTEST_TOKEN }}",
    );
  }
  let url = input('url').trim();
  if (!url) {
    if (mode === 'local')
      throw new Error('url is required: the socket endpoint, e.g. wss://staging.example.com/socket');
    url = 'ws://switchboard:4000/socket';
  }
  for (const u of url.split(',')) {
    if (!/^wss?:\/\/[^\s]+$/.test(u.trim())) throw new Error(`url: "${u}" must start with ws:// or wss://`);
  }
  const vusText = input('vus').trim();
  const vus = vusText ? Number(vusText) : undefined;
  if (vus !== undefined && (!Number.isSafeInteger(vus) || vus < 1)) {
    throw new Error(`vus: "${vusText}" is not a positive whole number`);
  }
  const duration = input('duration').trim() || undefined;
  if (duration && !K6_DURATION.test(duration)) {
    throw new Error(`duration: "${duration}" is not a k6 duration such as 30s, 2m or 1m30s`);
  }
  const summaryInput = input('summary-path').trim();
  const summaryPath = summaryInput
    ? isAbsolute(summaryInput)
      ? summaryInput
      : resolve(context.workspace, summaryInput)
    : join(context.tempDir ?? tmpdir(), `k6-${scenario}-summary.json`);
  const config: LoadTestConfig = {
    scenario,
    mode,
    engine,
    url,
    token,
    jwtSecret,
    vus,
    duration,
    env: parseEnvLines(input('env')),
    bundle,
    summaryPath,
    failOnThresholds: parseBooleanInput('fail-on-thresholds', input('fail-on-thresholds'), true),
    k6: input('k6').trim() || 'k6',
  };
  if (mode === 'operator') {
    const namespace = input('namespace').trim();
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) {
      throw new Error(
        `namespace is required in mode operator: the namespace to run the TestRun in (got "${namespace}")`,
      );
    }
    const name =
      input('name').trim() ||
      testRunName(`switchboard-${scenario}-${context.runId ?? Date.now().toString(36)}`);
    const parallelismText = input('parallelism').trim() || '1';
    const parallelism = Number(parallelismText);
    if (!Number.isSafeInteger(parallelism) || parallelism < 1) {
      throw new Error(`parallelism: "${parallelismText}" is not a positive whole number of runner pods`);
    }
    config.operator = {
      namespace,
      name: testRunName(name),
      parallelism,
      image: input('runner-image').trim() || DEFAULT_K6_IMAGE,
      kubectl: input('kubectl').trim() || 'kubectl',
      context: input('kube-context').trim() || undefined,
      timeoutMs: positiveSeconds(input, 'timeout-seconds', 3600) * 1000,
      pollIntervalMs: positiveSeconds(input, 'poll-interval-seconds', 10) * 1000,
      cleanup: parseBooleanInput('cleanup', input('cleanup'), true),
    };
  }
  return config;
}

function oneOf<T extends string>(input: InputReader, name: string, choices: T[], fallback: T): T {
  const value = input(name).trim() || fallback;
  if (!(choices as string[]).includes(value)) {
    throw new Error(`${name}: "${value}" is not one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** A positive number of seconds from input `name`, or `fallback` when it is empty. */
export function positiveSeconds(input: InputReader, name: string, fallback: number): number {
  const raw = input(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}: "${raw}" is not a positive number of seconds`);
  return value;
}
