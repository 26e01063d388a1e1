import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { exec } from '@actions/exec';
import { runScenario } from '../../../loadtests/src/runner.js';
import { readLoadSummary, type LoadSummary } from '../../../pipeline/src/k6/index.js';
import type { LoadTestConfig } from './config.js';

/** k6's exit code when a threshold failed (the Node runner uses the same). */
export const THRESHOLDS_FAILED_EXIT = 99;

/** The `k6 run` arguments: every setting as `-e KEY=VALUE`, the token excluded (it goes by environment). */
export function k6RunArgs(config: LoadTestConfig): string[] {
  const vars: Record<string, string> = {
    ...config.env,
    URL: config.url,
    ...(config.vus !== undefined ? { VUS: String(config.vus) } : {}),
    ...(config.duration ? { DURATION: config.duration } : {}),
    SUMMARY_PATH: config.summaryPath,
  };
  return [
    'run',
    '--no-color',
    ...Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    config.bundle,
  ];
}

/**
 * Runs the scenario's bundle with the k6 binary. TOKEN reaches k6 through the process environment (k6
 * exposes system variables in __ENV), never on the command line, which the log shows. Exit 0 or 99 both
 * leave a summary at SUMMARY_PATH (written by the bundle's handleSummary); anything else is an error.
 */
export async function runWithK6(config: LoadTestConfig, log: (line: string) => void): Promise<LoadSummary> {
  mkdirSync(dirname(config.summaryPath), { recursive: true });
  const args = k6RunArgs(config);
  log(`${config.k6} ${args.join(' ')}`);
  let exitCode: number;
  try {
    exitCode = await exec(config.k6, args, {
      ignoreReturnCode: true,
      env: { ...(process.env as Record<string, string>), TOKEN: config.token },
    });
  } catch (error) {
    throw new Error(
      `cannot run ${config.k6}: ${(error as Error).message}. Add grafana/setup-k6-action before this step, or use engine: node`,
      { cause: error },
    );
  }
  if (exitCode !== 0 && exitCode !== THRESHOLDS_FAILED_EXIT) {
    const why = exitCode === 104 ? ' (invalid configuration: see the lines above)' : '';
    throw new Error(`k6 exited with ${exitCode}${why}; no verdict`);
  }
  const summary = readLoadSummary(config.summaryPath);
  if (summary.ok !== (exitCode === 0)) {
    throw new Error(
      `k6 exited ${exitCode} but the summary says ok=${summary.ok}: the bundle and k6 disagree`,
    );
  }
  return summary;
}

/** Runs the scenario on the Node runner (`npm run loadtest`'s programmatic API) in this process. */
export async function runWithNode(config: LoadTestConfig, log: (line: string) => void): Promise<LoadSummary> {
  return runScenario({
    scenario: config.scenario,
    url: config.url,
    ...(config.token ? { token: config.token } : { jwtSecret: config.jwtSecret }),
    vus: config.vus,
    duration: config.duration,
    env: config.env,
    summaryPath: config.summaryPath,
    onProgress: log,
  });
}
