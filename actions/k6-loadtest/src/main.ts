import * as core from '@actions/core';
import { combineSummaries, type LoadSummary } from '../../../pipeline/src/k6/index.js';
import { writeJobSummary } from '../../../pipeline/src/summary/index.js';
import { readLoadTestConfig } from './config.js';
import { runWithK6, runWithNode } from './local.js';
import { runWithOperator } from './operator.js';
import { loadTestSummary } from './summary.js';

/** The action: run the scenario (k6, Node runner or k6-operator), report thresholds, pass or fail. */
export async function run(): Promise<void> {
  try {
    const config = readLoadTestConfig((name) => core.getInput(name), {
      workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
      tempDir: process.env.RUNNER_TEMP,
      runId: process.env.GITHUB_RUN_ID
        ? `${process.env.GITHUB_RUN_ID}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`
        : undefined,
    });
    if (config.token) core.setSecret(config.token);
    if (config.jwtSecret) core.setSecret(config.jwtSecret);
    const log = (line: string) => core.info(line);
    let summaries: LoadSummary[];
    let testRun: string | undefined;
    // The SLO gate judges exactly this span (start-time/end-time), not "the last N minutes" of when it runs.
    const startedAt = new Date();
    if (config.operator) {
      const result = await runWithOperator(
        { ...config, operator: config.operator },
        {
          now: () => Date.now(),
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          log,
          warn: (message) => core.warning(message),
        },
      );
      summaries = result.summaries;
      testRun = result.testRun;
    } else {
      summaries = [config.engine === 'k6' ? await runWithK6(config, log) : await runWithNode(config, log)];
    }
    const endedAt = new Date();
    core.setOutput('started-at', startedAt.toISOString());
    core.setOutput('ended-at', endedAt.toISOString());
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
    await writeJobSummary(core.summary, loadTestSummary(config, combined, summaries, { testRun }));
    const failed = combined.thresholds.filter((t) => !t.ok);
    if (!combined.passed) {
      const message = `load test ${config.scenario} failed ${failed.length} threshold(s): ${failed
        .map((t) => `${t.metric} ${t.expression} (value ${t.value ?? 'n/a'})`)
        .join(', ')}`;
      if (config.failOnThresholds) core.setFailed(message);
      else core.warning(`${message} (fail-on-thresholds is false)`);
    }
  } catch (error) {
    core.setOutput('passed', 'false');
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
