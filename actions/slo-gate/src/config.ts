import { isAbsolute, resolve } from 'node:path';
import { parseHeaderLines } from '../../shared/src/prometheus/index.js';
import { PROMETHEUS_DURATION } from './gate-file.js';

/** Reads one input by name (the action passes `core.getInput`). */
export type InputReader = (name: string) => string;

/** The validated inputs of the slo-gate action (see action.yml). */
export interface GateConfig {
  prometheusUrl: string;
  headers: Record<string, string>;
  gateFile: string;
  soakMs: number;
  window: string;
  pollIntervalMs: number;
  queryTimeoutMs: number;
  objectives: string[];
}

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
  let window = input('window').trim();
  if (!window) {
    if (soakSeconds < 1) {
      throw new Error('window: with soak-seconds 0 give the window to judge explicitly, e.g. window: 10m');
    }
    window = `${Math.round(soakSeconds)}s`;
  }
  if (!PROMETHEUS_DURATION.test(window)) {
    throw new Error(`window: "${window}" is not a Prometheus duration such as 600s, 10m or 1h`);
  }
  const gateFile = input('gate-file').trim() || 'slo/generated/gate.json';
  return {
    prometheusUrl,
    headers,
    gateFile: isAbsolute(gateFile) ? gateFile : resolve(workspace, gateFile),
    soakMs: soakSeconds * 1000,
    window,
    pollIntervalMs: seconds(input, 'poll-interval-seconds', 30, false) * 1000,
    queryTimeoutMs: seconds(input, 'query-timeout-seconds', 30, false) * 1000,
    objectives: input('objectives')
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean),
  };
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
