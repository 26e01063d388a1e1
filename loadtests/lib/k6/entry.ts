/**
 * What a k6 entry file exports, made from a scenario: `options` (constant-vus with the SLO
 * thresholds), the default function (one VU iteration) and `handleSummary` (the table on stdout and
 * the summary JSON at SUMMARY_PATH). Entry files stay three lines long.
 */
import exec from 'k6/execution';
import { readConfig } from '../config.js';
import { buildOptions, type RunOptions, type Scenario } from '../scenario.js';
import { renderSummaryTable, toLoadSummary, type EndOfTestData } from '../summary.js';
import { createK6Engine } from './engine.js';

/** The exports of a k6 entry file. */
export interface K6Entry {
  options: RunOptions;
  run(): Promise<void>;
  handleSummary(data: EndOfTestData): Record<string, string>;
}

/** Builds the k6 exports of `scenario` from `__ENV` (init context). */
export function k6Entry(scenario: Scenario): K6Entry {
  const engine = createK6Engine();
  const config = readConfig(scenario.name, __ENV, scenario.defaults);
  const logic = scenario.init(engine, config);
  return {
    options: buildOptions(scenario, config),
    run: () =>
      logic({
        vu: exec.vu.idInTest,
        iteration: exec.vu.iterationInScenario,
        remainingMs: () => exec.scenario.startTime + config.durationMs - Date.now(),
      }),
    handleSummary(data) {
      const summary = toLoadSummary(scenario.name, 'k6', config, data);
      return {
        stdout: renderSummaryTable(summary),
        [config.summaryPath]: `${JSON.stringify(summary, null, 2)}\n`,
      };
    },
  };
}
