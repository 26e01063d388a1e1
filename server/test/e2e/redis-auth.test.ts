// Redis with authentication (issue 12 item 12): the server connects with REDIS_PASSWORD to a
// standalone Redis (requirepass) and to a Redis Cluster (requirepass + masterauth), and with a wrong
// or missing password it refuses to start, naming what Redis said and the settings to fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startRedis, startRedisCluster, startSwitchboard } from '../../../testkit/src/index.js';

interface AuthedRedis {
  /** Server settings without credentials. */
  env: Record<string, string>;
  /** A port redis-cli can ask CLIENT LIST. */
  port: number;
  stop(): Promise<void>;
}

const password = randomBytes(24).toString('hex');

const backends: { name: string; start(): Promise<AuthedRedis> }[] = [
  {
    name: 'standalone Redis with requirepass (BROKER=redis)',
    async start() {
      const redis = await startRedis([], { password });
      return { env: { BROKER: 'redis', REDIS_URL: redis.url }, port: redis.port, stop: () => redis.stop() };
    },
  },
  {
    name: 'Redis Cluster with requirepass and masterauth (BROKER=redis-cluster)',
    async start() {
      const cluster = await startRedisCluster(3, { password });
      return {
        env: { BROKER: 'redis-cluster', REDIS_CLUSTER_NODES: cluster.nodesEnv },
        port: cluster.nodes[0]!.port,
        stop: () => cluster.stop(),
      };
    },
  },
];

/** startSwitchboard's rejection message (the process output), or a failure when it started. */
async function refusal(env: Record<string, string>): Promise<string> {
  try {
    const s = await startSwitchboard(env, { readyTimeoutMs: 60_000 });
    await s.kill();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('the server became healthy with wrong Redis credentials');
}

for (const backend of backends) {
  describe(backend.name, () => {
    let redis: AuthedRedis;
    before(async () => {
      redis = await backend.start();
    });
    after(async () => {
      await redis?.stop();
    });

    test('the server connects with the right REDIS_PASSWORD', async () => {
      const s = await startSwitchboard({ ...redis.env, NODE_ID: 'auth-ok', REDIS_PASSWORD: password });
      try {
        const ready = await fetch(`${s.metricsUrl}/readyz`);
        assert.equal(ready.status, 200);
        const clients = execFileSync('redis-cli', ['-p', String(redis.port), 'client', 'list'], {
          env: { ...process.env, REDISCLI_AUTH: password },
        }).toString();
        assert.match(clients, /name=sb-\S*auth-ok/, 'the server holds authenticated connections');
      } finally {
        await s.stop();
      }
    });

    test('a wrong password: exit before healthy, WRONGPASS and the settings to fix', async () => {
      const message = await refusal({ ...redis.env, REDIS_PASSWORD: 'not-the-password' });
      assert.match(message, /exited (with )?\(?1\)? before (it was healthy|listening)/);
      assert.match(message, /refused the credentials \(WRONGPASS[^)]*\): set REDIS_PASSWORD/);
      assert.doesNotMatch(message, /not-the-password/, 'the password is not logged');
    });

    test('no password: exit before healthy, NOAUTH and the settings to fix', async () => {
      const message = await refusal(redis.env);
      assert.match(message, /exited (with )?\(?1\)? before (it was healthy|listening)/);
      assert.match(message, /refused the credentials \(NOAUTH[^)]*\): set REDIS_PASSWORD/);
    });
  });
}

describe('standalone Redis with an ACL user (REDIS_USERNAME)', () => {
  test('connects as that user; the default user is off, so the password alone is refused', async () => {
    const redis = await startRedis([
      ...['--user', 'default', 'off'],
      ...['--user', 'switchboard', 'on', `>${password}`, '~*', '&*', '+@all'],
    ]);
    try {
      const env = { BROKER: 'redis', REDIS_URL: redis.url };
      const s = await startSwitchboard({ ...env, REDIS_USERNAME: 'switchboard', REDIS_PASSWORD: password });
      assert.equal((await fetch(`${s.metricsUrl}/readyz`)).status, 200);
      await s.stop();
      assert.match(
        await refusal({ ...env, REDIS_PASSWORD: password }),
        /refused the credentials \((WRONGPASS|NOAUTH)[^)]*\): set REDIS_PASSWORD \(and REDIS_USERNAME/,
      );
    } finally {
      await redis.stop();
    }
  });
});
