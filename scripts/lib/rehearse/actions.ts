// The workflow's load-test and SLO-gate steps, run with the actions' own domain code (the modules
// their main.ts calls; not main.ts itself, which talks to the runner): the same input parsing, the
// same Node runner, the same gate evaluation and the same job-summary sections.
import { combineSummaries, type CombinedResult, type LoadSummary } from '../../../pipeline/src/k6/index.js';
import { PrometheusClient } from '../../../pipeline/src/prometheus/index.js';
import type { SummarySection } from '../../../pipeline/src/summary/index.js';
import { readLoadTestConfig, type LoadTestConfig } from '../../../actions/k6-loadtest/src/config.js';
import { runWithNode } from '../../../actions/k6-loadtest/src/local.js';
import { loadTestSummary } from '../../../actions/k6-loadtest/src/summary.js';
import { readGateConfig, type GateConfig } from '../../../actions/slo-gate/src/config.js';
import { runGate, type GateReport } from '../../../actions/slo-gate/src/evaluate.js';
import { readGateFile, selectAll } from '../../../actions/slo-gate/src/gate-file.js';
import {
  loadTestResults,
  readSummaryMetrics,
  withLoadTestResults,
} from '../../../actions/slo-gate/src/load-test.js';
import { judgedSpan, objectiveSeries } from '../../../actions/slo-gate/src/series.js';
import { gateSummary } from '../../../actions/slo-gate/src/summary.js';

/** A step's `with:` inputs; unset inputs read as '' like core.getInput. */
export type Inputs = Record<string, string>;

const reader = (inputs: Inputs) => (name: string) => inputs[name] ?? '';

/** The load test's outcome, with the sections the k6-loadtest action writes to the job summary. */
export interface LoadTestOutcome {
  config: LoadTestConfig;
  summary: LoadSummary;
  combined: CombinedResult;
  sections: SummarySection[];
}

/** Reads the load-test inputs as the action does (errors name the input). */
export function loadTestConfig(inputs: Inputs, workspace: string, tempDir: string): LoadTestConfig {
  const config = readLoadTestConfig(reader(inputs), { workspace, tempDir });
  if (config.mode !== 'local' || config.engine !== 'node') {
    throw new Error('the rehearsal runs the load test with mode: local and engine: node (the Node runner)');
  }
  return config;
}

/** Runs the scenario on the Node runner exactly as the action's engine: node does. */
export async function runLoadTest(
  config: LoadTestConfig,
  log: (line: string) => void,
): Promise<LoadTestOutcome> {
  const summary = await runWithNode(config, log);
  const combined = combineSummaries([summary]);
  return { config, summary, combined, sections: loadTestSummary(config, combined, [summary]) };
}

/** The gate's outcome, with the slo-gate action's job-summary sections. */
export interface GateOutcome {
  config: GateConfig;
  report: GateReport;
  sections: SummarySection[];
}

/** Reads the gate inputs as the action does. */
export function gateConfig(inputs: Inputs, workspace: string): GateConfig {
  return readGateConfig(reader(inputs), workspace);
}

/** Soaks, evaluates every objective of the gate file against Prometheus, and charts each over the span. */
export async function runSloGate(config: GateConfig, log: (line: string) => void): Promise<GateOutcome> {
  const { objectives, loadTest } = selectAll(readGateFile(config.gateFile), config.objectives);
  const summaryMetrics = config.summaryPath ? readSummaryMetrics(config.summaryPath) : undefined;
  const judged = loadTestResults(loadTest, summaryMetrics, config.summaryPath);
  const client = new PrometheusClient({
    url: config.prometheusUrl,
    headers: config.headers,
    timeoutMs: config.queryTimeoutMs,
  });
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
      // The action passes these too: without them a baseline-offset-seconds input was read and ignored.
      baseline: config.baseline,
    },
    {
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      log,
    },
  );
  const report = withLoadTestResults(measured, judged.results);
  for (const r of judged.results) log(`${r.name}: ${r.verdict}${r.reason ? `: ${r.reason}` : ''}`);
  const series = await objectiveSeries(client, {
    objectives,
    selector: config.selector,
    ...judgedSpan(report),
    scrapeIntervalSeconds: config.scrapeIntervalSeconds,
  });
  return { config, report, sections: gateSummary(report, client.url, series, judged.source) };
}
