import * as core from '@actions/core';
import { checkComparedObjectives } from './baseline.js';
import { GatePrometheusClient } from './warnings.js';
import { writeJobSummary } from '../../../pipeline/src/summary/index.js';
import { readGateConfig } from './config.js';
import { runGate, unmet } from './evaluate.js';
import { readGateFile, selectAll } from './gate-file.js';
import { loadTestResults, readSummaryMetrics, withLoadTestResults } from './load-test.js';
import { judgedSpan, objectiveSeries, type ObjectiveSeries } from './series.js';
import { gateSummary } from './summary.js';

/** The action: read inputs and the gate file, soak, evaluate, set outputs and the summary; fail closed. */
export async function run(): Promise<void> {
  try {
    const config = readGateConfig(
      (name) => core.getInput(name),
      process.env.GITHUB_WORKSPACE ?? process.cwd(),
    );
    for (const value of Object.values(config.headers)) {
      // The whole value and, for "Bearer <token>" / "Basic <credentials>", the credential alone.
      if (value) core.setSecret(value);
      const credential = /^\S+\s+(\S+)$/.exec(value)?.[1];
      if (credential) core.setSecret(credential);
    }
    const { objectives, loadTest } = selectAll(readGateFile(config.gateFile), config.objectives);
    checkComparedObjectives(config.baseline, objectives);
    // Read now: a bad summary-path fails before the soak, not after it.
    const summaryMetrics = config.summaryPath ? readSummaryMetrics(config.summaryPath) : undefined;
    const judged = loadTestResults(loadTest, summaryMetrics, config.summaryPath);
    if (judged.source.skipped) {
      core.warning(
        `no summary-path: the load-test objectives ${judged.source.skipped.join(', ')} are not judged; pass k6-loadtest's summary-path output`,
      );
    }
    const client = new GatePrometheusClient({
      url: config.prometheusUrl,
      headers: config.headers,
      timeoutMs: config.queryTimeoutMs,
    });
    core.info(
      `evaluating ${objectives.length} objective(s) of {${config.selector}} over ${config.window}` +
        (config.evaluateAtMs !== undefined
          ? ` ending at ${new Date(config.evaluateAtMs).toISOString()} (load test end + ${config.soakMs / 1000}s soak)`
          : config.soakMs > 0
            ? ` after a ${config.soakMs / 1000}s soak`
            : ''),
    );
    const measured = await runGate(
      client,
      {
        objectives,
        soakMs: config.soakMs,
        window: config.window,
        selector: config.selector,
        evaluateAtMs: config.evaluateAtMs,
        settleMs: config.settleMs,
        pollIntervalMs: config.pollIntervalMs,
        baseline: config.baseline,
      },
      {
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        log: (message) => core.info(message),
      },
    );
    for (const r of judged.results) core.info(`${r.name}: ${r.verdict}${r.reason ? `: ${r.reason}` : ''}`);
    const report = withLoadTestResults(measured, judged.results);
    core.setOutput('verdict', report.verdict);
    core.setOutput('window', report.window);
    core.setOutput('evaluated-at', new Date(report.queriedAt).toISOString());
    core.setOutput(
      'objectives',
      JSON.stringify(
        report.results.map((r) => ({
          name: r.name,
          verdict: r.verdict,
          value: r.value ?? null,
          comparator: r.comparator,
          limit: r.limit,
          unit: r.unit,
          query: r.query,
          reason: r.reason,
          ...(r.baseline
            ? {
                baseline: {
                  value: r.baseline.value ?? null,
                  allowed: r.baseline.allowed ?? null,
                  query: r.baseline.query,
                  'evaluated-at': new Date(r.baseline.queriedAt).toISOString(),
                  reason: r.baseline.reason,
                },
              }
            : {}),
        })),
      ),
    );
    let series: ObjectiveSeries[] = [];
    try {
      series = await objectiveSeries(client, {
        objectives,
        selector: config.selector,
        ...judgedSpan(report),
        scrapeIntervalSeconds: config.scrapeIntervalSeconds,
      });
    } catch (error) {
      // The charts illustrate the verdict; without them the verdict stands.
      core.warning(`no charts in the summary: ${error instanceof Error ? error.message : String(error)}`);
    }
    await writeJobSummary(core.summary, gateSummary(report, client.url, series, judged.source));
    if (report.verdict !== 'pass') {
      const bad = report.results.filter(unmet);
      core.setFailed(
        `SLO gate ${report.verdict}: ${bad.map((r) => `${r.name} ${r.verdict}${r.reason ? ` (${r.reason})` : ''}`).join('; ')}`,
      );
    }
  } catch (error) {
    core.setOutput('verdict', 'inconclusive');
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
