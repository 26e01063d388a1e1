// Configuration: defaults, every validation message (names the variable and the fix), production
// requirements, dev secret generation, and the real process exiting 1 with a clear message.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  test('no environment at all: dev defaults, memory broker, port 4000, generated secrets', () => {
    const c = loadConfig({});
    assert.equal(c.port, 4000);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.broker, 'memory');
    assert.equal(c.production, false);
    assert.deepEqual(c.limits, {
      maxFrameBytes: 65536,
      maxTopicsPerConnection: 100,
      rateLimitPerSecond: 100,
      rateLimitBurst: 200,
      outboundQueueMaxBytes: 1048576,
      heartbeatTimeoutMs: 60000,
      presenceChurnPerSecond: 50,
      presenceChurnBurst: 200,
    });
    assert.equal(c.presenceBatchMs, 50);
    assert.equal(c.presenceTtlMs, 15_000);
    assert.equal(c.drainWindowMs, 30000);
    assert.deepEqual(c.rebalance, { intervalMs: 0, tolerancePercent: 10 });
    assert.deepEqual(c.allowedOrigins, []);
    assert.deepEqual(c.generatedSecrets, ['JWT_SECRET', 'API_TOKEN']);
    assert.ok((c.jwt.secret ?? '').length >= 32);
    assert.ok(c.apiToken.length >= 24);
    assert.notEqual(loadConfig({}).apiToken, c.apiToken, 'random per start');
    assert.match(c.nodeId, /^[\w.:-]+$/);
    assert.equal(c.revision, 'unknown');
  });

  test('every variable is read', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      NODE_ID: 'node-a',
      SWITCHBOARD_REVISION: '0123abc',
      JWT_SECRET: 's',
      JWT_ISSUER: 'iss',
      JWT_AUDIENCE: 'aud',
      JWKS_URL: 'https://id.example/jwks.json',
      API_TOKEN: 't',
      BROKER: 'redis-cluster',
      REDIS_URL: 'redis://r:6379',
      REDIS_CLUSTER_NODES: 'a:7000, b:7001,[::1]:7002',
      DATABASE_URL: 'postgres://u@db/x',
      MAX_FRAME_BYTES: '1024',
      MAX_TOPICS_PER_CONNECTION: '5',
      RATE_LIMIT_PER_SECOND: '7',
      RATE_LIMIT_BURST: '9',
      ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000/',
      OUTBOUND_QUEUE_MAX_BYTES: '4096',
      HEARTBEAT_TIMEOUT_MS: '1000',
      PRESENCE_BATCH_MS: '0',
      PRESENCE_TTL_MS: '3000',
      PRESENCE_TOPICS: 'room:*, lobby',
      DRAIN_WINDOW_MS: '500',
      REBALANCE_INTERVAL_MS: '60000',
      REBALANCE_TOLERANCE_PERCENT: '25',
      LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
      NODE_ENV: 'test',
      METRICS_PORT: '9100',
      MAX_CONNECTIONS_PER_USER: '3',
      MAX_CONNECTIONS_PER_ADDRESS: '30',
      TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7,fd00::/8',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '4000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '3000',
      JWT_MAX_TOKEN_AGE_SECONDS: '600',
      DEMO_TOKENS: 'true',
      PRESENCE_CHURN_PER_SECOND: '11',
      PRESENCE_CHURN_BURST: '13',
    });
    // Each variable above has its field asserted: one the server ignored would keep its default.
    assert.equal(c.nodeEnv, 'test');
    assert.equal(c.production, false);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.apiToken, 't');
    assert.equal(c.broker, 'redis-cluster');
    assert.equal(c.redisUrl, 'redis://r:6379');
    assert.equal(c.databaseUrl, 'postgres://u@db/x');
    assert.equal(c.history.databaseUrl, 'postgres://u@db/x');
    assert.deepEqual(c.limits, {
      maxFrameBytes: 1024,
      maxTopicsPerConnection: 5,
      rateLimitPerSecond: 7,
      rateLimitBurst: 9,
      outboundQueueMaxBytes: 4096,
      heartbeatTimeoutMs: 1000,
      presenceChurnPerSecond: 11,
      presenceChurnBurst: 13,
    });
    assert.equal(c.drainWindowMs, 500);
    assert.deepEqual(c.rebalance, { intervalMs: 60_000, tolerancePercent: 25 });
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.metricsPort, 9100);
    assert.deepEqual(c.edge, {
      maxConnectionsPerUser: 3,
      maxConnectionsPerAddress: 30,
      trustedProxies: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'],
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 3000,
      maxTokenAgeSeconds: 600,
      longPollWindowMs: 500,
      longPollIdleMs: 20_000,
      longPollRelayTimeoutMs: 2000,
    });
    assert.equal(c.demoTokens, true);
    assert.equal(c.port, 8080);
    assert.equal(c.nodeId, 'node-a');
    assert.equal(c.revision, '0123abc');
    assert.deepEqual(c.jwt, {
      secret: 's',
      jwksUrl: 'https://id.example/jwks.json',
      issuer: 'iss',
      audience: 'aud',
    });
    assert.deepEqual(c.redisClusterNodes, [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    assert.deepEqual(c.allowedOrigins, ['https://a.example', 'http://localhost:3000']);
    assert.equal(c.presenceBatchMs, 0);
    assert.equal(c.presenceTtlMs, 3000);
    assert.deepEqual(c.presenceTopics, ['room:*', 'lobby']);
    assert.deepEqual(c.generatedSecrets, []);
    assert.equal(c.otlpEndpoint, 'http://otel:4318');
  });

  test('bad values name the variable and the fix, all at once', () => {
    const problems = problemsOf({
      PORT: 'http',
      MAX_FRAME_BYTES: '-1',
      RATE_LIMIT_BURST: '1.5',
      BROKER: 'kafka',
      LOG_LEVEL: 'loud',
    });
    assert.equal(problems.length, 5);
    assert.match(
      problems[0]!,
      /^PORT="http" is invalid: set PORT to a whole number from 0 to 65535 \(default 4000\)/,
    );
    assert.ok(
      problems.some((p) => /^MAX_FRAME_BYTES="-1" is invalid: set MAX_FRAME_BYTES to a whole number/.test(p)),
    );
    assert.ok(problems.some((p) => p.startsWith('RATE_LIMIT_BURST="1.5" is invalid')));
    assert.ok(
      problems.some(
        (p) => p === 'BROKER="kafka" is invalid: set BROKER to one of memory, redis, redis-cluster',
      ),
    );
    assert.ok(
      problems.some((p) => p.startsWith('LOG_LEVEL="loud" is invalid: set it to one of fatal, error')),
    );
  });

  test('WORKERS: 1 by default, a whole number up to 64, or auto (one per usable core)', () => {
    assert.equal(loadConfig({}).workers, 1);
    assert.equal(loadConfig({ WORKERS: '3' }).workers, 3);
    assert.equal(loadConfig({ WORKERS: 'auto' }).workers, Math.min(64, availableParallelism()));
    for (const bad of ['0', '65', '2.5', 'two', '-1']) {
      assert.deepEqual(problemsOf({ WORKERS: bad }), [
        `WORKERS=${JSON.stringify(bad)} is invalid: set a whole number from 1 to 64, or auto (one per core)`,
      ]);
    }
  });

  test('PRESENCE_TOPICS: every topic by default, none on request, bad patterns named', () => {
    assert.deepEqual(loadConfig({}).presenceTopics, ['*']);
    assert.deepEqual(loadConfig({ PRESENCE_TOPICS: 'none' }).presenceTopics, []);
    assert.deepEqual(problemsOf({ PRESENCE_TOPICS: 'room:*:x*' }), [
      'PRESENCE_TOPICS="room:*:x*" is invalid: write topic patterns separated by commas, "*" only at the end (e.g. room:*,lobby), or none',
    ]);
    assert.equal(problemsOf({ PRESENCE_TOPICS: ' , ' }).length, 1);
  });

  test('broker settings must be complete', () => {
    assert.deepEqual(problemsOf({ BROKER: 'redis' }), [
      'BROKER=redis needs REDIS_URL: set REDIS_URL=redis://host:6379',
    ]);
    assert.deepEqual(problemsOf({ BROKER: 'redis-cluster' }), [
      'BROKER=redis-cluster needs REDIS_CLUSTER_NODES: set it to host:port,host:port,...',
    ]);
    assert.match(
      problemsOf({ BROKER: 'redis', REDIS_URL: 'http://x' })[0]!,
      /^REDIS_URL is not a valid redis\/rediss URL/,
    );
    assert.match(
      problemsOf({ REDIS_CLUSTER_NODES: 'a:1,b' })[0]!,
      /^REDIS_CLUSTER_NODES entry "b" is invalid: write host:port/,
    );
    assert.match(problemsOf({ REDIS_CLUSTER_NODES: 'a:70000' })[0]!, /^REDIS_CLUSTER_NODES entry "a:70000"/);
  });

  test('Redis credentials: REDIS_USERNAME/REDIS_PASSWORD or in REDIS_URL, required in production', () => {
    const base = { BROKER: 'redis', REDIS_URL: 'redis://redis:6379' };
    assert.equal(loadConfig(base).redisAuth, undefined);
    assert.deepEqual(loadConfig({ ...base, REDIS_PASSWORD: 'p'.repeat(32) }).redisAuth, {
      username: undefined,
      password: 'p'.repeat(32),
    });
    assert.deepEqual(loadConfig({ ...base, REDIS_USERNAME: 'switchboard', REDIS_PASSWORD: 'pw' }).redisAuth, {
      username: 'switchboard',
      password: 'pw',
    });
    assert.deepEqual(problemsOf({ ...base, REDIS_USERNAME: 'switchboard' }), [
      "REDIS_USERNAME=switchboard needs REDIS_PASSWORD: set the ACL user's password",
    ]);
    assert.match(
      problemsOf({ ...base, REDIS_URL: 'redis://:pw@redis:6379', REDIS_PASSWORD: 'pw' })[0]!,
      /^REDIS_URL has credentials and REDIS_USERNAME\/REDIS_PASSWORD are set too/,
    );
    const production = {
      NODE_ENV: 'production',
      JWKS_URL: 'https://id.example/jwks',
      API_TOKEN: 'x'.repeat(20),
    };
    for (const broker of [base, { BROKER: 'redis-cluster', REDIS_CLUSTER_NODES: 'redis-0:6379' }]) {
      assert.deepEqual(problemsOf({ ...production, ...broker }), [
        'NODE_ENV=production with a Redis broker needs REDIS_PASSWORD (Redis requirepass / ACL user): set it from the switchboard-secrets Secret',
      ]);
      assert.equal(loadConfig({ ...production, ...broker, REDIS_PASSWORD: 'pw' }).redisAuth?.password, 'pw');
    }
    assert.equal(
      loadConfig({ ...production, ...base, REDIS_URL: 'redis://:pw@redis:6379' }).redisAuth,
      undefined,
    );
  });

  test('urls, origins, node id and limits that contradict each other', () => {
    assert.match(problemsOf({ JWKS_URL: 'not a url' })[0]!, /^JWKS_URL is not a valid https\/http URL/);
    assert.match(problemsOf({ DATABASE_URL: 'mysql://x' })[0]!, /^DATABASE_URL is not a valid postgres/);
    assert.match(
      problemsOf({ ALLOWED_ORIGINS: 'https://a.example/path' })[0]!,
      /^ALLOWED_ORIGINS entry "https:\/\/a.example\/path" is not an origin/,
    );
    assert.match(
      problemsOf({ ALLOWED_ORIGINS: 'example.com' })[0]!,
      /is not an origin: write scheme:\/\/host\[:port\]/,
    );
    assert.match(problemsOf({ NODE_ID: 'has space' })[0]!, /^NODE_ID may only hold/);
    assert.match(problemsOf({ REBALANCE_INTERVAL_MS: '500' })[0]!, /^REBALANCE_INTERVAL_MS=500 is too short/);
    assert.match(
      problemsOf({ REBALANCE_TOLERANCE_PERCENT: '0' })[0]!,
      /^REBALANCE_TOLERANCE_PERCENT="0" is invalid/,
    );
    assert.match(problemsOf({ SWITCHBOARD_REVISION: 'a"b' })[0]!, /^SWITCHBOARD_REVISION may only hold/);
    assert.match(
      problemsOf({ SWITCHBOARD_REVISION: 'x'.repeat(65) })[0]!,
      /^SWITCHBOARD_REVISION may only hold/,
    );
    assert.match(
      problemsOf({ MAX_FRAME_BYTES: '65536', OUTBOUND_QUEUE_MAX_BYTES: '4096' })[0]!,
      /^OUTBOUND_QUEUE_MAX_BYTES \(4096\) is smaller than MAX_FRAME_BYTES \(65536\)/,
    );
    assert.match(
      problemsOf({ HEARTBEAT_TIMEOUT_MS: '10' })[0]!,
      /^HEARTBEAT_TIMEOUT_MS="10" is invalid: .* from 100 to 3600000 ms/,
    );
  });

  test('production requires real secrets and never generates them', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    assert.deepEqual(problems, [
      'NODE_ENV=production needs JWT_SECRET (HS256 secret, 32+ chars) or JWKS_URL (https URL of your identity provider keys)',
      'NODE_ENV=production needs API_TOKEN (bearer token for POST /api/broadcast)',
    ]);
    assert.deepEqual(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short', API_TOKEN: 'short' }), [
      'JWT_SECRET is shorter than 32 characters: use a random secret of at least 32 characters',
      'API_TOKEN is shorter than 16 characters: use a random token of at least 16 characters',
    ]);
    const ok = loadConfig({
      NODE_ENV: 'production',
      JWKS_URL: 'https://id.example/jwks',
      API_TOKEN: 'x'.repeat(20),
    });
    assert.equal(ok.jwt.secret, undefined);
    assert.deepEqual(ok.generatedSecrets, []);
  });
});

describe('the server process', () => {
  const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', main], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, stderr });
      });
    });

  test('NODE_ENV must be known; demo tokens only with a generated secret or DEMO_TOKENS=true', () => {
    assert.deepEqual(problemsOf({ NODE_ENV: 'staging' }), [
      'NODE_ENV="staging" is unknown: set it to one of development, test, production (production for every deployed environment)',
    ]);
    assert.equal(loadConfig({}).demoTokens, true, 'generated secret');
    assert.equal(loadConfig({ JWT_SECRET: 'configured' }).demoTokens, false, 'real secret, dev');
    assert.equal(loadConfig({ JWT_SECRET: 'configured', DEMO_TOKENS: 'true' }).demoTokens, true);
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), API_TOKEN: 'y'.repeat(16) };
    assert.equal(loadConfig(prod).demoTokens, false);
    assert.deepEqual(problemsOf({ ...prod, DEMO_TOKENS: 'true' }), [
      'DEMO_TOKENS=true is refused with NODE_ENV=production: anyone could mint tokens',
    ]);
    assert.match(problemsOf({ DEMO_TOKENS: 'yes' })[0]!, /^DEMO_TOKENS="yes" is invalid/);
  });

  test('production takes JWKS_URL over https only', () => {
    const prod = { NODE_ENV: 'production', API_TOKEN: 'y'.repeat(16) };
    assert.deepEqual(problemsOf({ ...prod, JWKS_URL: 'http://id.example/jwks.json' }), [
      'JWKS_URL is not a valid https URL: set it like https://host:port/...',
    ]);
    assert.equal(
      loadConfig({ ...prod, JWKS_URL: 'https://id.example/jwks.json' }).jwt.jwksUrl,
      'https://id.example/jwks.json',
    );
    assert.equal(
      loadConfig({ JWKS_URL: 'http://localhost:8080/jwks.json' }).jwt.jwksUrl,
      'http://localhost:8080/jwks.json',
    );
  });

  test('edge limits: ports, proxies and timeouts that contradict each other', () => {
    assert.deepEqual(problemsOf({ PORT: '4000', METRICS_PORT: '4000' }), [
      'METRICS_PORT (4000) equals PORT: give /metrics and the probes their own port',
    ]);
    assert.match(
      problemsOf({ TRUSTED_PROXIES: '10.0.0.0/33' })[0]!,
      /^TRUSTED_PROXIES entry "10.0.0.0\/33" is invalid/,
    );
    assert.match(problemsOf({ TRUSTED_PROXIES: 'proxy.local' })[0]!, /^TRUSTED_PROXIES entry "proxy.local"/);
    assert.match(
      problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })[0]!,
      /^HTTP_HEADERS_TIMEOUT_MS \(5000\) is larger than HTTP_REQUEST_TIMEOUT_MS \(1000\)/,
    );
  });

  test('webhooks: WEBHOOK_URL needs a 32+ character secret; events and bounds are checked', () => {
    assert.equal(loadConfig({}).webhooks, undefined);
    const c = loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9/wh', WEBHOOK_SECRET: 'x'.repeat(32) });
    assert.deepEqual(
      [...(c.webhooks?.events ?? [])],
      ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'],
    );
    assert.equal(c.webhooks?.vacateDebounceMs, 5000);
    assert.deepEqual(c.webhooks?.clientEventTopics, [], 'client events are off by default');
    const withClientEvents = loadConfig({
      WEBHOOK_URL: 'http://127.0.0.1:9/wh',
      WEBHOOK_SECRET: 'x'.repeat(32),
      WEBHOOK_CLIENT_EVENTS: ' game:* , chat:lobby,',
    });
    assert.deepEqual(withClientEvents.webhooks?.clientEventTopics, ['game:*', 'chat:lobby']);
    assert.ok(
      problemsOf({
        WEBHOOK_URL: 'http://127.0.0.1:9/wh',
        WEBHOOK_SECRET: 'x'.repeat(32),
        WEBHOOK_CLIENT_EVENTS: 'a*b',
      }).some((p) => p.startsWith('WEBHOOK_CLIENT_EVENTS: "a*b" is not a topic pattern')),
    );
    assert.ok(problemsOf({ WEBHOOK_CLIENT_EVENTS: 'game:*' })[0]?.includes('WEBHOOK_URL is not'));
    const problems = problemsOf({
      WEBHOOK_URL: 'ftp://x',
      WEBHOOK_SECRET: 'short',
      WEBHOOK_EVENTS: 'channel_occupied,client_event',
      WEBHOOK_MAX_ATTEMPTS: '0',
      WEBHOOK_RETRY_BASE_MS: '5000',
      WEBHOOK_RETRY_MAX_MS: '100',
    });
    for (const name of [
      'WEBHOOK_URL=',
      'WEBHOOK_SECRET of at least 32',
      'WEBHOOK_EVENTS: "client_event" is not set here: list the topics whose pushes to send in WEBHOOK_CLIENT_EVENTS',
      'WEBHOOK_MAX_ATTEMPTS=',
      'WEBHOOK_RETRY_MAX_MS is below',
    ]) {
      assert.ok(
        problems.some((p) => p.includes(name)),
        `${name} in ${problems.join(' / ')}`,
      );
    }
    assert.ok(problemsOf({ WEBHOOK_SECRET: 'x'.repeat(40) })[0]?.includes('WEBHOOK_URL is not'));
  });

  test('exits 1 with a message naming the variable and the fix', async () => {
    const { code, stderr } = await run({ PORT: 'eighty', NODE_ENV: 'production' });
    assert.equal(code, 1);
    assert.match(stderr, /switchboard: invalid configuration:/);
    assert.match(stderr, /PORT="eighty" is invalid: set PORT to a whole number/);
    assert.match(stderr, /NODE_ENV=production needs JWT_SECRET/);
    assert.match(stderr, /See docs\/configuration.md/);
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/, 'no stack trace for a configuration mistake');
  });
});
