/**
 * Reading the load-test summary JSON (`version: 1`, docs/loadtests.md) that both engines write: from a
 * file (k6's handleSummary at SUMMARY_PATH, or the Node runner), or out of k6-operator runner logs,
 * where handleSummary printed it to stderr. Several runners' summaries combine into one verdict.
 */
import { readFileSync } from 'node:fs';
import type { LoadSummary, ThresholdResult } from '../../../loadtests/lib/summary.js';

export type { LoadSummary, ThresholdResult };

/** Checks the parts of a summary this code relies on; throws naming what is missing. */
export function parseLoadSummary(raw: unknown, source: string): LoadSummary {
  const s = raw as Partial<LoadSummary> | null;
  const problems: string[] = [];
  if (typeof s !== 'object' || s === null)
    throw new Error(`${source}: the load-test summary is not a JSON object`);
  if (s.version !== 1) problems.push(`version is ${JSON.stringify(s.version)}, expected 1`);
  if (typeof s.scenario !== 'string') problems.push('scenario is missing');
  if (typeof s.ok !== 'boolean') problems.push('ok is missing');
  if (!Array.isArray(s.thresholds)) problems.push('thresholds is not an array');
  else {
    for (const [i, t] of s.thresholds.entries()) {
      if (typeof t?.metric !== 'string' || typeof t.expression !== 'string' || typeof t.ok !== 'boolean') {
        problems.push(`thresholds[${i}] needs metric, expression and ok`);
      }
    }
  }
  if (typeof s.metrics !== 'object' || s.metrics === null) problems.push('metrics is missing');
  if (problems.length > 0) {
    throw new Error(
      `${source} is not a load-test summary (docs/loadtests.md, "Summary JSON"): ${problems.join('; ')}`,
    );
  }
  return s as LoadSummary;
}

/** Reads and checks a summary file. */
export function readLoadSummary(path: string): LoadSummary {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`no load-test summary at ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseLoadSummary(raw, path);
}

/** The end of the JSON value that starts with `{` at `start` (string- and escape-aware); -1 if unbalanced. */
function endOfObject(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Finds every summary in a runner's log: k6-operator runners print k6's output, progress lines and, with
 * SUMMARY_PATH=stderr, the pretty-printed summary JSON. Anything that does not parse as a summary is skipped.
 */
export function extractSummariesFromLog(log: string, source = 'runner log'): LoadSummary[] {
  const found: LoadSummary[] = [];
  const start = /^\{\s*$/gm;
  for (let match = start.exec(log); match; match = start.exec(log)) {
    const end = endOfObject(log, match.index);
    if (end < 0) break;
    const text = log.slice(match.index, end + 1);
    if (!/"version":\s*1\b/.test(text)) continue;
    try {
      found.push(parseLoadSummary(JSON.parse(text), source));
      start.lastIndex = end + 1;
    } catch {
      // Not a summary (another JSON block in the log): keep scanning.
    }
  }
  return found;
}

/** One threshold over all runners. */
export interface CombinedThreshold extends ThresholdResult {
  /** How many runners evaluated it, and how many of those failed it. */
  runners: number;
  failedRunners: number;
}

/** Several runners' (or one engine's) outcome as one verdict. */
export interface CombinedResult {
  scenario: string;
  engine: LoadSummary['engine'];
  passed: boolean;
  thresholds: CombinedThreshold[];
  runners: number;
  /** The longest runner's test run. */
  testRunDurationMs: number;
}

/** For `<`/`<=` thresholds the largest value is the worst; for `>`/`>=` the smallest. */
function worse(expression: string, a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return /[<]/.test(expression) ? Math.max(a, b) : Math.min(a, b);
}

/**
 * Combines summaries. k6-operator runners each judge thresholds on their share of the VUs, so a threshold
 * passes only if it passed on every runner, and the value shown is the worst runner's.
 */
export function combineSummaries(summaries: LoadSummary[]): CombinedResult {
  if (summaries.length === 0) throw new Error('no load-test summary to combine');
  const byKey = new Map<string, CombinedThreshold>();
  for (const s of summaries) {
    for (const t of s.thresholds) {
      const key = `${t.metric}\u0000${t.expression}`;
      const prev = byKey.get(key);
      const failed = t.ok ? 0 : 1;
      if (!prev) {
        byKey.set(key, { ...t, runners: 1, failedRunners: failed });
      } else {
        prev.ok &&= t.ok;
        prev.runners += 1;
        prev.failedRunners += failed;
        const value = worse(t.expression, prev.value, t.value);
        if (value !== undefined) prev.value = value;
      }
    }
  }
  const thresholds = [...byKey.values()];
  return {
    scenario: summaries[0]!.scenario,
    engine: summaries[0]!.engine,
    passed: summaries.every((s) => s.ok) && thresholds.every((t) => t.ok),
    thresholds,
    runners: summaries.length,
    testRunDurationMs: Math.max(...summaries.map((s) => s.testRunDurationMs)),
  };
}
