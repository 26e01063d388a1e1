/**
 * Scenario configuration from the environment (`__ENV` in k6, the runner's resolved env in Node).
 * Every variable is validated at once, so a bad run is told every mistake in one go, naming the fix.
 */

/** The variables the scenarios read; docs/loadtests.md documents each. */
export const envKeys = [
  'URL',
  'TOKEN',
  'TOKENS',
  'VUS',
  'DURATION',
  'GRACEFUL_STOP',
  'ROOMS',
  'TOPIC_PREFIX',
  'PUBLISHERS',
  'PUBLISH_INTERVAL',
  'PAYLOAD_BYTES',
  'SESSION',
  'DRAIN',
  'HOLD',
  'CYCLES',
  'HEARTBEAT',
  'TIMEOUT',
  'SUMMARY_PATH',
  'RECOVER',
  'HONOUR_HINT',
] as const;

/** One of the variables in `envKeys`. */
export type EnvKey = (typeof envKeys)[number];

/** Per-scenario defaults, written as the environment would spell them. */
export type EnvDefaults = Partial<Record<EnvKey, string>>;

/** The validated configuration a scenario runs with. */
export interface LoadConfig {
  /** URL as given: one socket endpoint, e.g. ws://127.0.0.1:4000/socket, or a comma-separated list. */
  url: string;
  /** The endpoints (`/websocket?vsn=2.0.0` is appended); VUs are spread over them (see `urlFor`). */
  urls: string[];
  /** JWTs; VU n uses tokens[(n - 1) % tokens.length]. */
  tokens: string[];
  vus: number;
  /** As written (k6 syntax, e.g. `30s`, `1m30s`) and in milliseconds. */
  duration: string;
  durationMs: number;
  gracefulStop: string;
  gracefulStopMs: number;
  rooms: number;
  /** Topics are `${topicPrefix}-${room}`; the token's `join`/`publish` patterns must cover them. */
  topicPrefix: string;
  /** Publishing VUs per room (fan-out, soak). */
  publishersPerRoom: number;
  publishIntervalMs: number;
  /** Padding added to each published message, in bytes. */
  payloadBytes: number;
  /** Longest session of one iteration; 0 = until the scenario's duration ends. */
  sessionMs: number;
  /** Quiet time at the end of a session: publishers stop so in-flight messages arrive before leaving. */
  drainMs: number;
  /** How long a VU stays joined (connect storm: before closing; presence churn: before leaving). */
  holdMs: number;
  /** Join/leave cycles per connection (presence churn). */
  cycles: number;
  /** Client heartbeat interval (Phoenix default 30 s; the server closes sockets silent for 60 s). */
  heartbeatMs: number;
  /** Deadline for an open, a reply or a presence_state. */
  timeoutMs: number;
  summaryPath: string;
  /** Join with recovery (`recover` join param) and rejoin with the last position (rollout). */
  recover: boolean;
  /** After a 1012 close, wait the server's suggested `reconnect_after_ms` before reconnecting (rollout). */
  honourHint: boolean;
}

/** Bad configuration; `problems` has one line per variable, each naming the fix. */
export class ConfigError extends Error {
  readonly code = 'ERR_LOADTEST_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid load test configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a k6 duration (`500ms`, `10s`, `1m30s`, `1.5h`) into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) return undefined;
  let total = 0;
  for (const part of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(part[1]) * (unitMs[part[2] ?? 's'] ?? 1000);
  }
  return Math.round(total);
}

const builtInDefaults: Required<Omit<EnvDefaults, 'TOKEN' | 'TOKENS'>> = {
  URL: 'ws://127.0.0.1:4000/socket',
  VUS: '10',
  DURATION: '30s',
  GRACEFUL_STOP: '10s',
  ROOMS: '1',
  TOPIC_PREFIX: 'room:load',
  PUBLISHERS: '1',
  PUBLISH_INTERVAL: '1s',
  PAYLOAD_BYTES: '64',
  SESSION: '0s',
  DRAIN: '1s',
  HOLD: '500ms',
  CYCLES: '3',
  HEARTBEAT: '30s',
  TIMEOUT: '10s',
  SUMMARY_PATH: '',
  RECOVER: 'true',
  HONOUR_HINT: 'true',
};

/**
 * Reads the configuration of `scenario` from `env` over `defaults` over the built-in defaults.
 * Throws a ConfigError listing every bad variable.
 */
export function readConfig(
  scenario: string,
  env: Readonly<Record<string, string | undefined>>,
  defaults: EnvDefaults = {},
): LoadConfig {
  const problems: string[] = [];
  const raw = (key: EnvKey): string => {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') return v.trim();
    return defaults[key] ?? (builtInDefaults as EnvDefaults)[key] ?? '';
  };
  const int = (key: EnvKey, min: number, max: number): number => {
    const v = raw(key);
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${key}=${JSON.stringify(v)} is invalid: set ${key} to a whole number from ${min} to ${max}`,
      );
      return min;
    }
    return n;
  };
  const duration = (key: EnvKey, minMs: number): [string, number] => {
    const v = raw(key);
    const ms = parseDuration(v);
    if (ms === undefined || ms < minMs) {
      problems.push(
        `${key}=${JSON.stringify(v)} is invalid: set ${key} to a k6 duration of at least ${minMs} ms, such as 500ms, 30s or 1m30s`,
      );
      return [v, minMs];
    }
    return [v, ms];
  };

  const url = raw('URL');
  const urls = url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0 || urls.some((u) => !/^wss?:\/\/[^\s/,]+(\/\S*)?$/.test(u))) {
    problems.push(
      `URL=${JSON.stringify(url)} is invalid: set URL to the socket endpoint, e.g. ws://127.0.0.1:4000/socket ` +
        '(or a comma-separated list of endpoints to spread VUs over)',
    );
  }
  const tokens = [
    ...(env.TOKENS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
  ];
  const single = env.TOKEN?.trim();
  if (single) tokens.unshift(single);
  if (tokens.length === 0) {
    problems.push(
      'TOKEN is missing: set TOKEN to a JWT whose join/publish claims cover TOPIC_PREFIX (or TOKENS to a comma-separated list, one per VU)',
    );
  }
  for (const t of tokens) {
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(t)) {
      problems.push(
        'TOKEN/TOKENS holds a value that is not a JWT (header.payload.signature): set a signed JWT',
      );
      break;
    }
  }
  const topicPrefix = raw('TOPIC_PREFIX');
  if (!/^[\w:.-]{1,100}$/.test(topicPrefix)) {
    problems.push(
      `TOPIC_PREFIX=${JSON.stringify(topicPrefix)} is invalid: use letters, digits and : . _ - only, e.g. room:load`,
    );
  }
  const bool = (key: EnvKey): boolean => {
    const v = raw(key).toLowerCase();
    if (v !== 'true' && v !== 'false') {
      problems.push(`${key}=${JSON.stringify(raw(key))} is invalid: set ${key} to true or false`);
    }
    return v !== 'false';
  };
  const [durationText, durationMs] = duration('DURATION', 1000);
  const [gracefulStop, gracefulStopMs] = duration('GRACEFUL_STOP', 0);
  const config: LoadConfig = {
    url,
    urls,
    tokens,
    vus: int('VUS', 1, 100_000),
    duration: durationText,
    durationMs,
    gracefulStop,
    gracefulStopMs,
    rooms: int('ROOMS', 1, 100_000),
    topicPrefix,
    publishersPerRoom: int('PUBLISHERS', 0, 100_000),
    publishIntervalMs: duration('PUBLISH_INTERVAL', 1)[1],
    payloadBytes: int('PAYLOAD_BYTES', 0, 1_000_000),
    sessionMs: duration('SESSION', 0)[1],
    drainMs: duration('DRAIN', 0)[1],
    holdMs: duration('HOLD', 0)[1],
    cycles: int('CYCLES', 1, 1_000_000),
    heartbeatMs: duration('HEARTBEAT', 100)[1],
    timeoutMs: duration('TIMEOUT', 10)[1],
    summaryPath: raw('SUMMARY_PATH') || `${scenario}-summary.json`,
    recover: bool('RECOVER'),
    honourHint: bool('HONOUR_HINT'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The configuration as it may appear in a summary: everything but the tokens. */
export function publicConfig(config: LoadConfig): Omit<LoadConfig, 'tokens'> & { tokens: number } {
  const { tokens, ...rest } = config;
  return { ...rest, tokens: tokens.length };
}
