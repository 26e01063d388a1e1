import * as core from '@actions/core';
import { combineSummaries, readLoadSummary, type LoadSummary } from '../../../pipeline/src/k6/index.js';
import { writeJobSummary } from '../../../pipeline/src/summary/index.js';
import {
  checkHandle,
  logPath,
  readStarted,
  startInBackground,
  waitForBackground,
  workerConfig,
  writeWorkerResult,
} from './background.js';
import { positiveSeconds, readLoadTestConfig, readPhase, type LoadTestConfig } from './config.js';
import { runWithK6, runWithNode } from './local.js';
import { awaitOperatorRun, runWithOperator, startOperatorRun, type OperatorRuntime } from './operator.js';
import { loadTestSummary } from './summary.js';

const operatorRuntime = (log: (line: string) => void): OperatorRuntime => ({
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  log,
  warn: (message) => core.warning(message),
});

/** Runs the test of `config` in local mode to its end. */
async function runLocally(config: LoadTestConfig, log: (line: string) => void): Promise<LoadSummary> {
  return config.engine === 'k6' ? runWithK6(config, log) : runWithNode(config, log);
}

/** The outputs, job summary and verdict of a finished test: the same for `run` and `wait`. */
async function report(
  config: LoadTestConfig,
  summaries: LoadSummary[],
  span: { startedAt: string; endedAt: string; testRun?: string },
): Promise<void> {
  core.setOutput('started-at', span.startedAt);
  core.setOutput('ended-at', span.endedAt);
  const combined = combineSummaries(summaries);
  core.setOutput('passed', String(combined.passed));
  core.setOutput(
    'thresholds',
    JSON.stringify(
      combined.thresholds.map((t) => ({
        metric: t.metric,
        expression: t.expression,
        ok: t.ok,
        value: t.value ?? null,
      })),
    ),
  );
  core.setOutput('summary-path', config.summaryPath);
  core.setOutput('duration-seconds', String(Math.ceil(combined.testRunDurationMs / 1000)));
  await writeJobSummary(
    core.summary,
    loadTestSummary(config, combined, summaries, { testRun: span.testRun }),
  );
  const failed = combined.thresholds.filter((t) => !t.ok);
  if (!combined.passed) {
    const message = `load test ${config.scenario} failed ${failed.length} threshold(s): ${failed
      .map((t) => `${t.metric} ${t.expression} (value ${t.value ?? 'n/a'})`)
      .join(', ')}`;
    if (config.failOnThresholds) core.setFailed(message);
    else core.warning(`${message} (fail-on-thresholds is false)`);
  }
}

/** phase wait: the started test's outputs, once it has ended. */
async function waitPhase(log: (line: string) => void): Promise<void> {
  const input = (name: string) => core.getInput(name);
  const handle = checkHandle(input('handle').trim(), process.env.RUNNER_TEMP);
  const timeoutMs = positiveSeconds(input, 'timeout-seconds', 3600) * 1000;
  const started = readStarted(handle);
  const { config } = started;
  if (config.operator) {
    // The TestRun has been running since start: wait for it here, bounded by this step's timeout.
    const result = await awaitOperatorRun(
      { ...config, operator: { ...config.operator, timeoutMs } },
      operatorRuntime(log),
    );
    await report(config, result.summaries, {
      startedAt: started.startedAt,
      endedAt: new Date().toISOString(),
      testRun: result.testRun,
    });
    return;
  }
  const waited = await waitForBackground(handle, { timeoutMs });
  log(waited.log.trimEnd());
  if (waited.result.error) throw new Error(waited.result.error);
  // Read the way runWithK6/runWithNode return it: the one summary the worker's engine wrote.
  await report(config, [readLoadSummary(config.summaryPath)], {
    startedAt: waited.startedAt,
    endedAt: waited.result.endedAt,
  });
}

/** The action: run the scenario (k6, Node runner or k6-operator), report thresholds, pass or fail. */
export async function run(): Promise<void> {
  try {
    const log = (line: string) => core.info(line);
    const phase = readPhase((name) => core.getInput(name));
    if (phase === 'wait') return await waitPhase(log);
    const config = readLoadTestConfig((name) => core.getInput(name), {
      workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      tempDir: process.env.RUNNER_TEMP,
      runId: process.env.GITHUB_RUN_ID
        ? `${process.env.GITHUB_RUN_ID}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`
        : undefined,
    });
    if (config.token) core.setSecret(config.token);
    if (config.jwtSecret) core.setSecret(config.jwtSecret);
    // The SLO gate judges exactly this span (start-time/end-time), not "the last N minutes" of when it runs.
    const startedAt = new Date();
    if (phase === 'start') {
      const tempDir = process.env.RUNNER_TEMP;
      if (!tempDir) throw new Error('phase start needs RUNNER_TEMP: the handle is a folder in it');
      if (config.operator)
        await startOperatorRun({ ...config, operator: config.operator }, operatorRuntime(log));
      // Operator mode: no worker, the TestRun runs in the cluster; wait polls it.
      const started = startInBackground(config, tempDir, { startedAt, worker: !config.operator });
      core.setOutput('handle', started.handle);
      core.setOutput('started-at', started.startedAt);
      log(
        config.operator
          ? `TestRun ${config.operator.name} created; wait for it with phase: wait and handle ${started.handle}`
          : `load test ${config.scenario} started in the background; its output goes to ${logPath(started.handle)}`,
      );
      return;
    }
    let summaries: LoadSummary[];
    let testRun: string | undefined;
    if (config.operator) {
      const result = await runWithOperator({ ...config, operator: config.operator }, operatorRuntime(log));
      summaries = result.summaries;
      testRun = result.testRun;
    } else {
      summaries = [await runLocally(config, log)];
    }
    await report(config, summaries, {
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      testRun,
    });
  } catch (error) {
    core.setOutput('passed', 'false');
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The background worker phase start launches (this entry point with WORKER_ENV set): runs the test
 * of the state folder `handle` to its end and writes its result; exits 0 either way.
 */
export async function runWorker(handle: string): Promise<void> {
  const log = (line: string) => console.log(line);
  try {
    const config = workerConfig(handle);
    await runLocally(config, log);
    writeWorkerResult(handle, { endedAt: new Date().toISOString() });
  } catch (error) {
    writeWorkerResult(handle, {
      endedAt: new Date().toISOString(),
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
