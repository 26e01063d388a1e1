import { isAbsolute, resolve } from 'node:path';
import { parseHeaderLines } from '../../../pipeline/src/prometheus/index.js';
import type { BaselineOptions } from './baseline.js';
import { checkSelector, PROMETHEUS_DURATION } from './gate-file.js';

/** Reads one input by name (the action passes `core.getInput`). */
export type InputReader = (name: string) => string;

/** The validated inputs of the slo-gate action (see action.yml). */
export interface GateConfig {
  prometheusUrl: string;
  headers: Record<string, string>;
  gateFile: string;
  soakMs: number;
  window: string;
  /** Label matchers of the environment judged, substituted for `$selector`. */
  selector: string;
  /**
   * With the load test's start and end: the final evaluation is AT end + soak (Prometheus `time=`),
   * over start - two scrape intervals .. end + soak, however late the job started. Absent: at the end of
   * the soak.
   */
  evaluateAtMs?: number;
  /** Wait this long past `evaluateAtMs` before querying, so the last scrapes are in. */
  settleMs: number;
  pollIntervalMs: number;
  queryTimeoutMs: number;
  /** Prometheus' scrape interval for the server: the charts' shortest window is 4 of them. */
  scrapeIntervalSeconds: number;
  objectives: string[];
  /**
   * The load test's summary JSON (k6-loadtest's summary-path), absolute; '' when not given: the
   * load-test objectives are then not judged.
   */
  summaryPath: string;
  /** baseline-selector / baseline-offset-seconds / max-regression; absent when neither is given. */
  baseline?: BaselineOptions;
}

/** gate-file's default, relative to the workspace: what `npm run slo:generate` writes. */
export const DEFAULT_GATE_FILE = 'slo/generated/gate.json';

/**
 * Reads and checks every input before anything waits or queries; an error names the input and the fix.
 * `workspace` is where a relative gate-file is resolved (GITHUB_WORKSPACE).
 */
export function readGateConfig(input: InputReader, workspace: string): GateConfig {
  const prometheusUrl = input('prometheus-url').trim();
  if (!prometheusUrl) {
    throw new Error('prometheus-url is required: the Prometheus base URL, e.g. ${{ vars.PROMETHEUS_URL }}');
  }
  const headers = parseHeaderLines(input('headers'));
  const bearer = input('bearer-token').trim();
  if (bearer) {
    if (Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      throw new Error('bearer-token and an Authorization line in headers are both set: use one');
    }
    headers.Authorization = `Bearer ${bearer}`;
  }
  const soakSeconds = seconds(input, 'soak-seconds', 0, true);
  const scrapeIntervalSeconds = seconds(input, 'scrape-interval-seconds', 15, false);
  const selector = checkSelector(input('selector'));
  let window = input('window').trim();
  const start = instant(input, 'start-time');
  const end = instant(input, 'end-time');
  let evaluateAtMs: number | undefined;
  if ((start === undefined) !== (end === undefined)) {
    throw new Error("start-time and end-time come together: the load test's started-at and ended-at outputs");
  }
  if (start !== undefined && end !== undefined) {
    if (end <= start) throw new Error('end-time must be after start-time');
    if (window) throw new Error('window and start-time/end-time are both set: the times define the window');
    // Two scrapes before the start: a counter's increase() needs a sample from before the load's first
    // events, and a load whose clients all connect at once has none inside [start, end] (0/0: no data,
    // seen with 2 s scrapes). Two, so one missed scrape does not bring that back.
    const leadSeconds = 2 * scrapeIntervalSeconds;
    window = `${Math.ceil((end - start) / 1000 + leadSeconds) + Math.round(soakSeconds)}s`;
    evaluateAtMs = end + soakSeconds * 1000;
  } else if (!window) {
    if (soakSeconds < 1) {
      throw new Error('window: with soak-seconds 0 give the window to judge explicitly, e.g. window: 10m');
    }
    window = `${Math.round(soakSeconds)}s`;
  }
  if (!PROMETHEUS_DURATION.test(window)) {
    throw new Error(`window: "${window}" is not a Prometheus duration such as 600s, 10m or 1h`);
  }
  const gateFile = input('gate-file').trim() || DEFAULT_GATE_FILE;
  const summaryPath = input('summary-path').trim();
  const baselineSelector = input('baseline-selector').trim();
  const baselineOffsetSeconds = seconds(input, 'baseline-offset-seconds', 0, true);
  const maxRegression = ratio(input, 'max-regression', 0.1);
  const compared = names(input('baseline-objectives'));
  const baseline =
    baselineSelector || baselineOffsetSeconds > 0
      ? {
          selector: baselineSelector ? checkSelector(baselineSelector) : selector,
          offsetMs: baselineOffsetSeconds * 1000,
          maxRegression,
          ...(compared.length > 0 ? { objectives: compared } : {}),
        }
      : undefined;
  if (baseline && baseline.selector === selector && baseline.offsetMs === 0) {
    throw new Error(
      'baseline-selector is the selector judged: a baseline must be other pods or an earlier window',
    );
  }
  return {
    prometheusUrl,
    headers,
    gateFile: isAbsolute(gateFile) ? gateFile : resolve(workspace, gateFile),
    summaryPath: !summaryPath || isAbsolute(summaryPath) ? summaryPath : resolve(workspace, summaryPath),
    soakMs: soakSeconds * 1000,
    window,
    selector,
    evaluateAtMs,
    settleMs: seconds(input, 'settle-seconds', 30, true) * 1000,
    pollIntervalMs: seconds(input, 'poll-interval-seconds', 30, false) * 1000,
    queryTimeoutMs: seconds(input, 'query-timeout-seconds', 30, false) * 1000,
    scrapeIntervalSeconds,
    objectives: names(input('objectives')),
    baseline,
  };
}

/** Objective names, comma or newline separated. */
function names(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A non-negative number such as 0.1 (10 %). */
function ratio(input: InputReader, name: string, fallback: number): number {
  const raw = input(name).trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value)) {
    throw new Error(`${name}: "${raw.slice(0, 40)}" is not a non-negative number such as 0.1 (10 %)`);
  }
  return value;
}

/** An input that is a point in time: ISO 8601 (as k6-loadtest writes it) or Unix seconds. */
function instant(input: InputReader, name: string): number | undefined {
  const raw = input(name).trim();
  if (raw === '') return undefined;
  const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
  if (!Number.isFinite(ms) || !/^[\d.:TZ+-]+$/i.test(raw)) {
    throw new Error(`${name}: "${raw.slice(0, 40)}" is not a time such as 2026-01-31T12:00:00.000Z`);
  }
  return ms;
}

function seconds(input: InputReader, name: string, fallback: number, zeroAllowed: boolean): number {
  const raw = input(name).trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new Error(
      `${name}: "${raw}" is not a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds`,
    );
  }
  return value;
}
