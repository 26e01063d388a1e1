/**
 * What a scenario is, and the run options both engines derive from it: k6 reads them as the entry
 * file's `options`; the Node runner reads the same object for VUs, duration and thresholds.
 */
import type { EnvDefaults, LoadConfig } from './config.js';
import type { Engine, VuContext } from './engine.js';
import { thresholds as sloThresholds } from './thresholds.generated.js';

/** One iteration of one virtual user. It must close everything it opens, so k6 can end the iteration. */
export type VuLogic = (vu: VuContext) => Promise<void>;

/** A load test scenario: engine-independent VU logic plus its defaults. */
export interface Scenario {
  /** File-name-safe name: `connect-storm`, `fanout`, ... */
  readonly name: string;
  readonly description: string;
  /** Defaults for the environment variables, as they would be written there. */
  readonly defaults: EnvDefaults;
  /** The SLO metrics (keys of the generated thresholds) this scenario measures; only theirs apply. */
  readonly sloMetrics: readonly string[];
  /** Creates the scenario's metrics (k6: in the init context) and returns the VU logic. */
  init(engine: Engine, config: LoadConfig): VuLogic;
}

/** Trend statistics both engines report; p(99) is there because the delivery SLO uses it. */
export const summaryTrendStats = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

/** The subset of k6 `Options` the scenarios use (assignable to k6's `Options`). */
export interface RunOptions {
  scenarios: Record<
    string,
    { executor: 'constant-vus'; vus: number; duration: string; gracefulStop: string; exec?: string }
  >;
  thresholds: Record<string, string[]>;
  summaryTrendStats: string[];
}

/** The options of `scenario` under `config`, with the SLO thresholds of the metrics it measures. */
export function buildOptions(
  scenario: Scenario,
  config: LoadConfig,
  thresholds: Record<string, string[]> = sloThresholds,
): RunOptions {
  const applied: Record<string, string[]> = {};
  for (const metric of scenario.sloMetrics) {
    const list = thresholds[metric];
    if (list && list.length > 0) applied[metric] = [...list];
  }
  return {
    scenarios: {
      [scenario.name]: {
        executor: 'constant-vus',
        vus: config.vus,
        duration: config.duration,
        gracefulStop: config.gracefulStop,
      },
    },
    thresholds: applied,
    summaryTrendStats: [...summaryTrendStats],
  };
}
