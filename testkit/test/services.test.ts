import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

test('startPostgres runs a real PostgreSQL as a child of this process: queries, immediate kill, restart with its data, stop', async () => {
  const server = await startPostgres();
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };
  try {
    assert.equal((await query('select 1 + 1 as two'))[0].two, 2);
    // A descendant, not a daemon: a second Ctrl-C of the rehearsal can find it by its parent pid.
    const postmasters = childCommands().filter((c) => /\/postgres -D /.test(c));
    assert.equal(postmasters.length, 1, childCommands().join('\n'));
    await query('create table kept (n int); insert into kept values (42)');
    await server.kill();
    await assert.rejects(query('select 1'));
    await server.restart();
    assert.deepEqual(await query('select n from kept'), [{ n: 42 }]);
  } finally {
    await server.stop();
  }
  assert.deepEqual(
    childCommands().filter((c) => /postgres/.test(c)),
    [],
  );
});

/** Command lines of this process's direct children (from /proc). */
function childCommands(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      out.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // gone while we looked
    }
  }
  return out;
}
