import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { startPostgres, startRedis, startRedisCluster } from '../src/index.js';

test('startRedis runs a real redis-server that answers PING and survives kill/restart', async () => {
  const redis = await startRedis();
  try {
    const ping = () =>
      execFileSync('redis-cli', ['-p', String(redis.port), 'ping'])
        .toString()
        .trim();
    assert.equal(ping(), 'PONG');
    await redis.kill();
    assert.throws(() => execFileSync('redis-cli', ['-p', String(redis.port), 'ping'], { stdio: 'pipe' }));
    await redis.restart();
    assert.equal(ping(), 'PONG');
  } finally {
    await redis.stop();
  }
});

test('startRedisCluster makes a 3-master cluster in state ok', async () => {
  const cluster = await startRedisCluster(3);
  try {
    assert.equal(cluster.nodes.length, 3);
    const info = execFileSync('redis-cli', [
      '-p',
      String(cluster.nodes[0]!.port),
      'cluster',
      'info',
    ]).toString();
    assert.match(info, /cluster_state:ok/);
    assert.match(info, /cluster_known_nodes:3/);
  } finally {
    await cluster.stop();
  }
});

test('startPostgres runs a real PostgreSQL that answers queries', async () => {
  const server = await startPostgres();
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    const { rows } = await client.query('select 1 + 1 as two');
    assert.equal(rows[0].two, 2);
  } finally {
    await client.end();
    await server.stop();
  }
});
