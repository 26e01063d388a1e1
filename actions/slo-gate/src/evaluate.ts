import { isPrometheusError, type PrometheusClient } from '../../../pipeline/src/prometheus/index.js';
import { withBaseline, type BaselineOptions, type BaselineResult } from './baseline.js';
import { substituteSelector, substituteWindow, type GateObjective } from './gate-file.js';

/**
 * The three answers a gate can give. `inconclusive` means "we could not tell" -- no data, NaN, an
 * error, Prometheus down -- and is never treated as a pass.
 */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/**
 * One objective's answer: a verdict, or `not-exercised` -- an optional objective whose window held
 * none of its events (no client had to recover), shown as such and neither a pass nor a failure.
 */
export type ObjectiveVerdict = Verdict | 'not-exercised';

/** One objective's outcome. */
export interface ObjectiveResult {
  name: string;
  description: string;
  /** The query as sent, `$window` and `$selector` substituted. */
  query: string;
  comparator: GateObjective['comparator'];
  limit: number;
  unit: string;
  /** The measured value; absent when inconclusive or not exercised. */
  value?: number;
  verdict: ObjectiveVerdict;
  /** Why it is inconclusive or failed, in a sentence. */
  reason: string;
  /** With a baseline: its value and the worst value allowed given it. */
  baseline?: BaselineResult;
}

/** Time and logging, injected so tests and scripts control them. */
export interface GateRuntime {
  now(): number;
  sleep(ms: number): Promise<void>;
  log(message: string): void;
}

/** Compares a value with the objective's limit. */
export function meets(value: number, comparator: GateObjective['comparator'], limit: number): boolean {
  return comparator === '>=' ? value >= limit : value <= limit;
}

/**
 * Evaluates one objective at `time`: exactly one finite sample -> pass or fail; no sample, several
 * samples, NaN/Inf or any error (PromQL, HTTP, unreachable) -> inconclusive with the reason.
 */
export async function evaluateObjective(
  client: PrometheusClient,
  objective: GateObjective,
  window: string,
  selector: string,
  time?: Date,
): Promise<ObjectiveResult> {
  const query = substituteSelector(substituteWindow(objective.query, window), selector);
  const base = {
    name: objective.name,
    description: objective.description,
    query,
    comparator: objective.comparator,
    limit: objective.limit,
    unit: objective.unit,
  };
  const noEvents = async (reason: string): Promise<ObjectiveResult> => {
    if (objective.exercised === undefined) return { ...base, verdict: 'inconclusive', reason };
    return notExercised(
      client,
      { ...base, verdict: 'inconclusive', reason },
      objective.exercised,
      window,
      selector,
      time,
    );
  };
  const inconclusive = (reason: string): ObjectiveResult => ({ ...base, verdict: 'inconclusive', reason });
  let samples;
  try {
    samples = (await client.query(query, time)).samples;
  } catch (error) {
    if (isPrometheusError(error)) return inconclusive(error.message);
    throw error;
  }
  if (samples.length === 0) {
    return noEvents(
      `no data: the query returned no series over ${window} (no traffic, a metric that is not scraped, or a window shorter than two scrapes)`,
    );
  }
  if (samples.length > 1) {
    return inconclusive(`the query returned ${samples.length} series; a gate query must aggregate to one`);
  }
  const value = samples[0]!.value;
  if (Number.isNaN(value)) return noEvents('the value is NaN (e.g. 0/0: no events in the window)');
  if (!Number.isFinite(value))
    return inconclusive(`the value is ${value} (e.g. a quantile above the highest bucket)`);
  const ok = meets(value, objective.comparator, objective.limit);
  return {
    ...base,
    value,
    verdict: ok ? 'pass' : 'fail',
    reason: ok
      ? ''
      : `${formatValue(value, objective.unit)} is not ${objective.comparator} ${formatValue(objective.limit, objective.unit)}`,
  };
}

/**
 * An optional objective without a value: `not-exercised` only when its events' rate over the window
 * is exactly 0 (the counters exist and did not move); otherwise `noValue` (inconclusive) stands, with
 * what the events' query said.
 */
async function notExercised(
  client: PrometheusClient,
  noValue: ObjectiveResult,
  exercised: string,
  window: string,
  selector: string,
  time?: Date,
): Promise<ObjectiveResult> {
  const query = substituteSelector(substituteWindow(exercised, window), selector);
  let samples;
  try {
    samples = (await client.query(query, time)).samples;
  } catch (error) {
    if (isPrometheusError(error)) return { ...noValue, reason: `${noValue.reason}; ${error.message}` };
    throw error;
  }
  if (samples.length === 1 && samples[0]!.value === 0) {
    return {
      ...noValue,
      verdict: 'not-exercised',
      reason: `not exercised: none of its events over ${window} (${query} is 0)`,
    };
  }
  return {
    ...noValue,
    reason: `${noValue.reason}; its events' query ${samples.length === 0 ? 'has no series either (not scraped?)' : `reads ${samples.map((x) => x.value).join(', ')}`}`,
  };
}

/** An objective that failed or could not be judged (not one that passed or was not exercised). */
export function unmet(r: Pick<ObjectiveResult, 'verdict'>): boolean {
  return r.verdict === 'fail' || r.verdict === 'inconclusive';
}

/**
 * The overall verdict, failing closed: `pass` only when every objective passes or was not exercised
 * and at least one passed; `fail` when any fails (a definite failure outranks missing data);
 * `inconclusive` otherwise.
 */
export function overallVerdict(results: Pick<ObjectiveResult, 'verdict'>[]): Verdict {
  if (results.some((r) => r.verdict === 'fail')) return 'fail';
  const judged = results.filter((r) => r.verdict !== 'not-exercised');
  if (judged.length > 0 && judged.every((r) => r.verdict === 'pass')) return 'pass';
  return 'inconclusive';
}

/** A value as people read it: ratios and counts with 5 significant digits, seconds and ms in ms. */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'seconds') return `${Number((value * 1000).toPrecision(4))} ms`;
  if (unit === 'ms') return `${Number(value.toPrecision(4))} ms`;
  return String(Number(value.toPrecision(5)));
}

/** What the gate does. */
export interface GateOptions {
  objectives: GateObjective[];
  /** Wait this long before the final evaluation (the soak). 0 evaluates at once. */
  soakMs: number;
  /** `$window` of the final evaluation, e.g. `600s`. */
  window: string;
  /** `$selector`: the label matchers of the one environment judged. */
  selector: string;
  /**
   * Evaluate at this time (ms since epoch) instead of at the end of the soak: the load test's end
   * plus the soak. The gate waits until `settleMs` after it, then queries with Prometheus `time=`.
   */
  evaluateAtMs?: number;
  settleMs?: number;
  /** While soaking, evaluate this often and log interim values. */
  pollIntervalMs: number;
  /** Also compare each objective with a baseline (another selector, an earlier window, or both). */
  baseline?: BaselineOptions;
}

/** Everything the gate found. */
export interface GateReport {
  verdict: Verdict;
  window: string;
  results: ObjectiveResult[];
  /** When the soak started and the final evaluation ran (ms since epoch). */
  startedAt: number;
  evaluatedAt: number;
  /** The time the final queries were evaluated at (Prometheus `time=`), ms since epoch. */
  queriedAt: number;
  /** Interim evaluations during the soak. */
  polls: number;
}

/**
 * Soaks, then evaluates every objective once. During the soak it polls every `pollIntervalMs` with the
 * same `$window` and logs the interim values and verdicts; they decide nothing (the window still reaches
 * back before the soak), but the job log shows the trend, and an unreachable Prometheus, early.
 */
export async function runGate(
  client: PrometheusClient,
  options: GateOptions,
  runtime: GateRuntime,
): Promise<GateReport> {
  const startedAt = runtime.now();
  // Interim polls look at "now"; only the final evaluation is anchored to the load test.
  const deadline =
    options.evaluateAtMs === undefined
      ? startedAt + options.soakMs
      : options.evaluateAtMs + (options.settleMs ?? 0);
  let polls = 0;
  while (runtime.now() < deadline) {
    const left = deadline - runtime.now();
    await runtime.sleep(Math.min(options.pollIntervalMs, left));
    if (runtime.now() >= deadline) break;
    polls += 1;
    const interim = await Promise.all(
      options.objectives.map((o) => evaluateObjective(client, o, options.window, options.selector)),
    );
    const soaked = ((runtime.now() - startedAt) / 1000).toFixed(1);
    runtime.log(
      `soak ${soaked}s/${Math.round(options.soakMs / 1000)}s: ${interim
        .map(
          (r) => `${r.name}=${r.value === undefined ? 'n/a' : formatValue(r.value, r.unit)} (${r.verdict})`,
        )
        .join(', ')}`,
    );
  }
  const evaluatedAt = runtime.now();
  const at = options.evaluateAtMs === undefined ? undefined : new Date(options.evaluateAtMs);
  const queriedAt = at?.getTime() ?? evaluatedAt;
  let results = await Promise.all(
    options.objectives.map((o) => evaluateObjective(client, o, options.window, options.selector, at)),
  );
  if (options.baseline) {
    results = await withBaseline(
      client,
      options.objectives,
      results,
      options.window,
      queriedAt,
      options.baseline,
    );
  }
  for (const r of results) {
    const shown = r.value === undefined ? 'no value' : formatValue(r.value, r.unit);
    const base = r.baseline?.value === undefined ? '' : `, baseline ${formatValue(r.baseline.value, r.unit)}`;
    runtime.log(
      `${r.name}: ${shown} (${r.comparator} ${formatValue(r.limit, r.unit)}${base}) -> ${r.verdict}${r.reason ? `: ${r.reason}` : ''}`,
    );
  }
  return {
    verdict: overallVerdict(results),
    window: options.window,
    results,
    startedAt,
    evaluatedAt,
    queriedAt,
    polls,
  };
}
