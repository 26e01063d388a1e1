import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isValidTopicPattern } from './auth/topic-pattern.js';
import { parseTrustedProxies } from './transport/client-address.js';
import { parseHooksConfig, type HooksConfig } from './channels/hooks/config.js';
import { parseWebhooksConfig, type WebhooksConfig } from './webhooks/config.js';
import { parseHistoryConfig, type HistoryConfig } from './store/config.js';
import { parseWorkers } from './workers/config.js';

/**
 * The only module that reads `process.env`. Every variable is documented in docs/configuration.md;
 * `loadConfig` validates them all at once, so a bad deployment is told every mistake in one go.
 */

/** Where publications between replicas travel. */
export type BrokerKind = 'memory' | 'redis' | 'redis-cluster';

export interface Limits {
  /** Largest inbound WebSocket message (ws `maxPayload`); larger closes the connection with 1009. */
  maxFrameBytes: number;
  maxTopicsPerConnection: number;
  /** Token bucket refill rate, inbound frames per second per connection. */
  rateLimitPerSecond: number;
  /** Token bucket capacity. */
  rateLimitBurst: number;
  /** Bytes a connection may have waiting to be written before it is closed with 4008. */
  outboundQueueMaxBytes: number;
  /** A connection silent for this long is closed (clients heartbeat every 30 s). */
  heartbeatTimeoutMs: number;
  /** Presence joins per second per topic on one node (each costs a diff to every member). */
  presenceChurnPerSecond: number;
  /** Presence joins per topic allowed at once before PRESENCE_CHURN_PER_SECOND applies. */
  presenceChurnBurst: number;
}

/** Caps and timeouts at the edge (transport): see docs/protocol.md "Connection limits". */
export interface EdgeLimits {
  /** Open WebSockets one JWT `sub` may hold on this node; the next upgrade is answered 429. */
  maxConnectionsPerUser: number;
  /** Open WebSockets plus upgrades in progress from one client address on this node (429 beyond). */
  maxConnectionsPerAddress: number;
  /** Peers (IPs or CIDRs) whose X-Forwarded-For names the client address (TRUSTED_PROXIES). */
  trustedProxies: string[];
  /** Node's http `headersTimeout`: the whole request head must arrive within this. */
  headersTimeoutMs: number;
  /** Node's http `requestTimeout`: the whole request (head and body) must arrive within this. */
  requestTimeoutMs: number;
  /** Node's http `keepAliveTimeout`: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Longest lifetime (`exp` - `iat`) a client token may have (JWT_MAX_TOKEN_AGE_SECONDS). */
  maxTokenAgeSeconds: number;
  /** LongPoll: how long a poll waits for messages before answering 204 (LONGPOLL_WINDOW_MS). */
  longPollWindowMs: number;
  /** LongPoll: a session not polled for this long is closed (LONGPOLL_IDLE_MS). */
  longPollIdleMs: number;
  /** LongPoll: how long a node waits for another node to answer a relayed POST (LONGPOLL_RELAY_TIMEOUT_MS). */
  longPollRelayTimeoutMs: number;
}

export interface Config {
  nodeEnv: NodeEnv;
  production: boolean;
  port: number;
  /** Port of /metrics, /healthz and /readyz (never routed by the Ingress). */
  metricsPort: number;
  host: string;
  /**
   * LISTEN_BACKLOG: connections the kernel may hold for PORT before they are accepted (capped by
   * net.core.somaxconn). Node's own default, 511, overflows when thousands reconnect at once after a
   * drain, and the overflow waits out TCP's SYN retries (1 s, 3 s, 7 s...).
   */
  listenBacklog: number;
  /** Identifies this replica to the broker and presence (unique per process). */
  nodeId: string;
  /** WORKERS: processes sharing PORT on this node (1: a single process; docs/operations.md). */
  workers: number;
  /** SWITCHBOARD_REVISION: the build's source revision (the image sets it), a label of switchboard_build_info. */
  revision: string;
  jwt: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string };
  apiToken: string;
  broker: BrokerKind;
  redisUrl?: string;
  redisClusterNodes: { host: string; port: number }[];
  /**
   * REDIS_USERNAME (an ACL user; default the `default` user) and REDIS_PASSWORD, sent with AUTH on every
   * Redis connection, standalone and Cluster. Absent when credentials are in REDIS_URL or Redis has none.
   */
  redisAuth?: { username?: string; password: string };
  databaseUrl?: string;
  /** History and recovery settings (DATABASE_URL, HISTORY_*, MIGRATE_ON_START); see docs/history.md. */
  history: HistoryConfig;
  limits: Limits;
  edge: EdgeLimits;
  /** `GET /demo/token` is served: JWT_SECRET was generated at start-up, or DEMO_TOKENS=true (never production). */
  demoTokens: boolean;
  presenceBatchMs: number;
  /** Topic patterns whose joins are tracked in presence (`*` all, the default; empty: none). */
  presenceTopics: string[];
  /** Redis presence: a node that stops refreshing (crashed) leaves presence after this long. */
  presenceTtlMs: number;
  drainWindowMs: number;
  /** REBALANCE_*: move connections above the cluster mean (off when intervalMs is 0); transport/rebalancer.ts. */
  rebalance: { intervalMs: number; tolerancePercent: number };
  /** Exact origins (`scheme://host[:port]`) allowed to open WebSockets; empty allows any. */
  allowedOrigins: string[];
  logLevel: string;
  otlpEndpoint?: string;
  /** CHANNELS_MODULE: path of a module whose `routes` come before the default ones (docs/channels.md). */
  channelsModule?: string;
  /** HOOKS_*: the team's backend decides joins and answers pushes on HOOKS_TOPICS (docs/hooks.md). */
  hooks?: HooksConfig;
  /** WEBHOOK_*: channel occupancy and presence events POSTed to the team's receiver (docs/webhooks.md). */
  webhooks?: WebhooksConfig;
  /** Secrets generated at start-up because they were missing (never in production). */
  generatedSecrets: ('JWT_SECRET' | 'API_TOKEN')[];
}

/** Thrown by `loadConfig`; `problems` has one line per bad variable, each naming the fix. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const BROKERS: BrokerKind[] = ['memory', 'redis', 'redis-cluster'];
/** NODE_ENV values the server knows; anything else is a start-up error (a typo must not mean dev). */
export type NodeEnv = 'development' | 'test' | 'production';
const NODE_ENVS: NodeEnv[] = ['development', 'test', 'production'];

/** Reads and validates the configuration from `env` (default `process.env`). Throws `ConfigError`. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, def: number, min: number, max: number, unit = ''): number => {
    const raw = read(name);
    if (raw === undefined) return def;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is invalid: set ${name} to a whole number from ${min} to ${max}${unit} (default ${def}), or unset it`,
      );
      return def;
    }
    return n;
  };
  const url = (name: string, schemes: string[]): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !schemes.includes(parsed.protocol.slice(0, -1))) {
      problems.push(
        `${name} is not a valid ${schemes.join('/')} URL: set it like ${schemes[0]}://host:port/...`,
      );
      return undefined;
    }
    return raw;
  };

  const nodeEnv = (read('NODE_ENV') ?? 'development') as NodeEnv;
  if (!NODE_ENVS.includes(nodeEnv)) {
    problems.push(
      `NODE_ENV=${JSON.stringify(nodeEnv)} is unknown: set it to one of ${NODE_ENVS.join(', ')} (production for every deployed environment)`,
    );
  }
  const production = nodeEnv === 'production';

  const port = int('PORT', 4000, 0, 65535);
  const metricsPort = int('METRICS_PORT', 9464, 0, 65535);
  if (metricsPort !== 0 && metricsPort === port) {
    problems.push(`METRICS_PORT (${metricsPort}) equals PORT: give /metrics and the probes their own port`);
  }
  const host = read('HOST') ?? '0.0.0.0';
  const listenBacklog = int('LISTEN_BACKLOG', 4096, 1, 65535);
  const nodeId = read('NODE_ID') ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  if (!/^[\w.:-]{1,128}$/.test(nodeId)) {
    problems.push(
      'NODE_ID may only hold letters, digits, "_", ".", ":" and "-" (1-128 chars): fix or unset it',
    );
  }

  const revision = read('SWITCHBOARD_REVISION') ?? 'unknown';
  if (!/^[\w.+-]{1,64}$/.test(revision)) {
    problems.push(
      'SWITCHBOARD_REVISION may only hold letters, digits, "_", ".", "+" and "-" (1-64 chars): set it to the git commit or unset it',
    );
  }

  const broker = (read('BROKER') ?? 'memory') as BrokerKind;
  if (!BROKERS.includes(broker)) {
    problems.push(
      `BROKER=${JSON.stringify(env.BROKER)} is invalid: set BROKER to one of ${BROKERS.join(', ')}`,
    );
  }
  const redisUrl = url('REDIS_URL', ['redis', 'rediss']);
  if (broker === 'redis' && !read('REDIS_URL')) {
    problems.push('BROKER=redis needs REDIS_URL: set REDIS_URL=redis://host:6379');
  }
  const redisClusterNodes = parseHostPorts(read('REDIS_CLUSTER_NODES'), problems);
  if (broker === 'redis-cluster' && redisClusterNodes.length === 0 && !read('REDIS_CLUSTER_NODES')) {
    problems.push('BROKER=redis-cluster needs REDIS_CLUSTER_NODES: set it to host:port,host:port,...');
  }
  const redisAuth = parseRedisAuth(read, redisUrl, broker !== 'memory' && production, problems);

  const limits: Limits = {
    maxFrameBytes: int('MAX_FRAME_BYTES', 65536, 256, 64 * 1024 * 1024, ' bytes'),
    maxTopicsPerConnection: int('MAX_TOPICS_PER_CONNECTION', 100, 1, 100_000),
    rateLimitPerSecond: int('RATE_LIMIT_PER_SECOND', 100, 1, 1_000_000),
    rateLimitBurst: int('RATE_LIMIT_BURST', 200, 1, 10_000_000),
    outboundQueueMaxBytes: int('OUTBOUND_QUEUE_MAX_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024, ' bytes'),
    heartbeatTimeoutMs: int('HEARTBEAT_TIMEOUT_MS', 60_000, 100, 3_600_000, ' ms'),
    presenceChurnPerSecond: int('PRESENCE_CHURN_PER_SECOND', 50, 1, 1_000_000),
    presenceChurnBurst: int('PRESENCE_CHURN_BURST', 200, 1, 10_000_000),
  };
  if (limits.outboundQueueMaxBytes < limits.maxFrameBytes) {
    problems.push(
      `OUTBOUND_QUEUE_MAX_BYTES (${limits.outboundQueueMaxBytes}) is smaller than MAX_FRAME_BYTES (${limits.maxFrameBytes}): one broadcast would close every subscriber; raise OUTBOUND_QUEUE_MAX_BYTES or lower MAX_FRAME_BYTES`,
    );
  }
  const edge: EdgeLimits = {
    maxConnectionsPerUser: int('MAX_CONNECTIONS_PER_USER', 100, 1, 10_000_000),
    maxConnectionsPerAddress: int('MAX_CONNECTIONS_PER_ADDRESS', 1000, 1, 10_000_000),
    trustedProxies: parseTrustedProxies(read('TRUSTED_PROXIES'), problems),
    headersTimeoutMs: int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000, ' ms'),
    requestTimeoutMs: int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000, ' ms'),
    keepAliveTimeoutMs: int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000, ' ms'),
    maxTokenAgeSeconds: int('JWT_MAX_TOKEN_AGE_SECONDS', 86_400, 1, 31_536_000, ' s'),
    // The default stays under the heartbeat timeout: a waiting poll is the client's only heartbeat.
    longPollWindowMs: int(
      'LONGPOLL_WINDOW_MS',
      Math.max(100, Math.min(10_000, Math.floor(limits.heartbeatTimeoutMs / 2))),
      100,
      120_000,
      ' ms',
    ),
    longPollIdleMs: int('LONGPOLL_IDLE_MS', 20_000, 200, 600_000, ' ms'),
    longPollRelayTimeoutMs: int('LONGPOLL_RELAY_TIMEOUT_MS', 2_000, 50, 60_000, ' ms'),
  };
  if (edge.longPollWindowMs >= Math.min(edge.longPollIdleMs, limits.heartbeatTimeoutMs)) {
    problems.push(
      `LONGPOLL_WINDOW_MS (${edge.longPollWindowMs}) is not below LONGPOLL_IDLE_MS (${edge.longPollIdleMs}) and HEARTBEAT_TIMEOUT_MS (${limits.heartbeatTimeoutMs}): a client that polls without pause would be closed as idle; lower LONGPOLL_WINDOW_MS`,
    );
  }
  if (edge.headersTimeoutMs > edge.requestTimeoutMs) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS (${edge.headersTimeoutMs}) is larger than HTTP_REQUEST_TIMEOUT_MS (${edge.requestTimeoutMs}): the head is part of the request; lower it or raise HTTP_REQUEST_TIMEOUT_MS`,
    );
  }
  const presenceBatchMs = int('PRESENCE_BATCH_MS', 50, 0, 60_000, ' ms');
  const presenceTtlMs = int('PRESENCE_TTL_MS', 15_000, 300, 3_600_000, ' ms');
  const presenceTopics = parsePresenceTopics(read('PRESENCE_TOPICS'), problems);
  const drainWindowMs = int('DRAIN_WINDOW_MS', 30_000, 0, 600_000, ' ms');
  const workers = parseWorkers(read('WORKERS'), problems);
  const rebalance = {
    intervalMs: int('REBALANCE_INTERVAL_MS', 0, 0, 3_600_000, ' ms'),
    tolerancePercent: int('REBALANCE_TOLERANCE_PERCENT', 10, 1, 100, ' %'),
  };
  if (rebalance.intervalMs > 0 && rebalance.intervalMs < 1000) {
    problems.push(
      `REBALANCE_INTERVAL_MS=${rebalance.intervalMs} is too short: 0 (off) or at least 1000 ms, longer than a hello (2 s) in practice`,
    );
  }

  const allowedOrigins = parseOrigins(read('ALLOWED_ORIGINS'), problems);

  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(
      `LOG_LEVEL=${JSON.stringify(logLevel)} is invalid: set it to one of ${LOG_LEVELS.join(', ')}`,
    );
  }

  // Keys over plain http could be swapped by anyone on the path: production takes https only.
  const jwksUrl = url('JWKS_URL', production ? ['https'] : ['https', 'http']);
  const databaseUrl = url('DATABASE_URL', ['postgres', 'postgresql']);
  const history = parseHistoryConfig(env);
  // DATABASE_URL is already reported above, in the wording the rest of this file uses.
  problems.push(...history.problems.filter((p) => !p.startsWith('DATABASE_URL')));
  const otlpEndpoint = url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http', 'https']);
  const channelsModule = read('CHANNELS_MODULE');
  const hooks = parseHooksConfig(env);
  problems.push(...hooks.problems);
  const webhooks = parseWebhooksConfig(env);
  problems.push(...webhooks.problems);
  let jwtSecret = read('JWT_SECRET');
  let apiToken = read('API_TOKEN');
  const generatedSecrets: Config['generatedSecrets'] = [];
  if (production) {
    if (!jwtSecret && !read('JWKS_URL')) {
      problems.push(
        'NODE_ENV=production needs JWT_SECRET (HS256 secret, 32+ chars) or JWKS_URL (https URL of your identity provider keys)',
      );
    }
    if (jwtSecret && jwtSecret.length < 32) {
      problems.push(
        'JWT_SECRET is shorter than 32 characters: use a random secret of at least 32 characters',
      );
    }
    if (!apiToken)
      problems.push('NODE_ENV=production needs API_TOKEN (bearer token for POST /api/broadcast)');
    else if (apiToken.length < 16) {
      problems.push('API_TOKEN is shorter than 16 characters: use a random token of at least 16 characters');
    }
  } else {
    if (!jwtSecret && !read('JWKS_URL')) {
      jwtSecret = randomBytes(32).toString('base64url');
      generatedSecrets.push('JWT_SECRET');
    }
    if (!apiToken) {
      apiToken = randomBytes(24).toString('base64url');
      generatedSecrets.push('API_TOKEN');
    }
  }

  const demoOptIn = read('DEMO_TOKENS');
  if (demoOptIn !== undefined && demoOptIn !== 'true' && demoOptIn !== 'false') {
    problems.push(
      `DEMO_TOKENS=${JSON.stringify(demoOptIn)} is invalid: set it to true or false, or unset it`,
    );
  }
  if (demoOptIn === 'true' && production) {
    problems.push('DEMO_TOKENS=true is refused with NODE_ENV=production: anyone could mint tokens');
  }
  if (demoOptIn === 'true' && !jwtSecret) {
    problems.push('DEMO_TOKENS=true needs an HS256 secret: set JWT_SECRET or unset JWKS_URL');
  }
  // Demo tokens are signed with the secret that verifies real ones: only a throwaway secret, or an explicit opt-in.
  const demoTokens = !production && (generatedSecrets.includes('JWT_SECRET') || demoOptIn === 'true');

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv,
    production,
    port,
    metricsPort,
    host,
    listenBacklog,
    nodeId,
    workers,
    revision,
    jwt: { secret: jwtSecret, jwksUrl, issuer: read('JWT_ISSUER'), audience: read('JWT_AUDIENCE') },
    apiToken: apiToken ?? '',
    broker,
    redisUrl,
    redisClusterNodes,
    redisAuth,
    databaseUrl,
    history: history.config,
    limits,
    edge,
    demoTokens,
    presenceBatchMs,
    presenceTopics,
    presenceTtlMs,
    drainWindowMs,
    rebalance,
    allowedOrigins,
    logLevel,
    otlpEndpoint,
    channelsModule,
    hooks: hooks.config,
    webhooks: webhooks.config,
    generatedSecrets,
  };
}

/**
 * REDIS_USERNAME / REDIS_PASSWORD, or credentials in REDIS_URL (never both). In production a Redis
 * without credentials is refused: the NetworkPolicies alone would stand between any pod that reaches
 * Redis and every topic (docs/security.md).
 */
function parseRedisAuth(
  read: (name: string) => string | undefined,
  redisUrl: string | undefined,
  required: boolean,
  problems: string[],
): Config['redisAuth'] {
  const username = read('REDIS_USERNAME');
  const password = read('REDIS_PASSWORD');
  let inUrl = false;
  if (redisUrl) {
    const parsed = new URL(redisUrl);
    inUrl = parsed.username !== '' || parsed.password !== '';
  }
  if (inUrl && (username || password)) {
    problems.push(
      'REDIS_URL has credentials and REDIS_USERNAME/REDIS_PASSWORD are set too: keep one (REDIS_PASSWORD, from the secret, is preferred)',
    );
  }
  if (username && !password) {
    problems.push(`REDIS_USERNAME=${username} needs REDIS_PASSWORD: set the ACL user's password`);
  }
  if (required && !password && !inUrl) {
    problems.push(
      'NODE_ENV=production with a Redis broker needs REDIS_PASSWORD (Redis requirepass / ACL user): set it from the switchboard-secrets Secret',
    );
  }
  return password ? { username, password } : undefined;
}

function parseHostPorts(raw: string | undefined, problems: string[]): { host: string; port: number }[] {
  if (raw === undefined) return [];
  const out: { host: string; port: number }[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    const m = /^([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      problems.push(
        `REDIS_CLUSTER_NODES entry ${JSON.stringify(item)} is invalid: write host:port,host:port (e.g. redis-0:6379,redis-1:6379)`,
      );
      continue;
    }
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

/** `*` when unset; `none` for no presence at all (big broadcast-only rooms would pay for it per join). */
function parsePresenceTopics(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return ['*'];
  if (raw.trim() === 'none') return [];
  const patterns = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = patterns.filter((p) => !isValidTopicPattern(p));
  if (patterns.length === 0 || bad.length > 0) {
    problems.push(
      `PRESENCE_TOPICS=${JSON.stringify(raw)} is invalid: write topic patterns separated by commas, "*" only at the end (e.g. room:*,lobby), or none`,
    );
  }
  return patterns.filter((p) => isValidTopicPattern(p));
}

function parseOrigins(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim().replace(/\/$/, ''))) {
    if (item === '') continue;
    let origin: string | undefined;
    try {
      origin = new URL(item).origin;
    } catch {
      origin = undefined;
    }
    if (!origin || origin === 'null' || origin !== item.toLowerCase()) {
      problems.push(
        `ALLOWED_ORIGINS entry ${JSON.stringify(item)} is not an origin: write scheme://host[:port] without a path, e.g. https://app.example.com`,
      );
      continue;
    }
    out.push(origin);
  }
  return out;
}
