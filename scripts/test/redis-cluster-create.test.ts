// base/redis/cluster/create-cluster.sh, the script the Redis Cluster create Job runs, against six
// real cluster-mode redis-servers on loopback with requirepass and masterauth, as the StatefulSet
// runs them: with REDISCLI_AUTH (as the Job sets it) it waits for late nodes, forms 3 masters with one
// replica each whose replication link is up, and a second run changes nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startRedisClusterNodes, type RedisClusterNodes } from '../../testkit/src/index.js';
import { $, run } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const password = randomBytes(16).toString('hex');
const authEnv = { ...process.env, REDISCLI_AUTH: password };
const script = join(repoRoot, 'base/redis/cluster/create-cluster.sh');

function cli(port: number, ...args: string[]): Promise<string> {
  return cliAs(password, port, ...args);
}

async function cliAs(pass: string, port: number, ...args: string[]): Promise<string> {
  const env = { ...process.env, REDISCLI_AUTH: pass };
  return (await run($({ env, timeout: 5000 })`redis-cli -p ${port} ${args}`)).stdout;
}

/** How many of `ports` are replicas whose link to their master is up. */
async function linkedReplicas(ports: number[]): Promise<number> {
  const infos = await Promise.all(ports.map((p) => cli(p, 'info', 'replication')));
  return infos.filter((info) => /master_link_status:up/.test(info)).length;
}

describe('Redis Cluster create script', () => {
  let nodes: RedisClusterNodes | undefined;
  after(async () => {
    await nodes?.stop();
  });

  test('refuses to run without a host list, naming the variable', async () => {
    const env = { ...process.env, REDIS_CLUSTER_HOSTS: '' };
    const out = await $({ env, timeout: 30_000, nothrow: true })`sh ${script}`;
    assert.notEqual(out.exitCode, 0, 'the script succeeded without REDIS_CLUSTER_HOSTS');
    assert.match(out.stderr, /REDIS_CLUSTER_HOSTS/);
  });

  test('waits for every node, forms 3 masters + 3 replicas, and is a no-op the second time', async () => {
    nodes = await startRedisClusterNodes(6, { password });
    const ports = nodes.nodes.map((n) => n.port);
    // The sixth node is not ready yet: it refuses the password the script PINGs with.
    const late = ports[5]!;
    const other = randomBytes(16).toString('hex');
    await cli(late, 'config', 'set', 'requirepass', other);
    const env = {
      ...authEnv,
      REDIS_CLUSTER_HOSTS: ports.map((p) => `127.0.0.1:${p}`).join(' '),
      REDIS_CLUSTER_REPLICAS: '1',
      REDIS_CLUSTER_WAIT_SECONDS: '60',
    };
    // The script must wait for it rather than fail or form 5: two refused PINGs (2 s apart) show it
    // waiting, then the node becomes ready.
    const creating = run($({ env, timeout: 120_000 })`sh ${script}`);
    const refusedPings = async () =>
      Number(
        /errorstat_WRONGPASS:count=(\d+)/.exec(await cliAs(other, late, 'info', 'errorstats'))?.[1] ?? 0,
      );
    const deadline0 = Date.now() + 60_000;
    while ((await refusedPings()) < 2) {
      assert.ok(Date.now() < deadline0, 'the script did not PING the late node twice within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(await cli(ports[0]!, 'cluster', 'info'), /cluster_known_nodes:1\b/, 'nothing formed yet');
    await cliAs(other, late, 'config', 'set', 'requirepass', password);
    const { stdout } = await creating;
    assert.match(stdout, /creating the cluster/);

    // Roles spread by gossip: give node 0 a bounded moment to learn all of them.
    const deadline = Date.now() + 20_000;
    let info: string;
    let replicas: number;
    for (;;) {
      info = await cli(ports[0]!, 'cluster', 'info');
      replicas = ((await cli(ports[0]!, 'cluster', 'nodes')).match(/\bslave\b/g) ?? []).length;
      // masterauth: each replica's link to its password-protected master is up.
      const linked = await linkedReplicas(ports);
      if ((/cluster_state:ok/.test(info) && replicas === 3 && linked === 3) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(info, /cluster_state:ok/);
    assert.match(info, /cluster_known_nodes:6/);
    assert.match(info, /cluster_size:3/);
    assert.equal(replicas, 3);
    assert.equal(await linkedReplicas(ports), 3, 'every replica syncs from its master with masterauth');

    const again = await run($({ env, timeout: 60_000 })`sh ${script}`);
    assert.match(again.stdout, /already formed \(6 nodes known\), nothing to do/);

    // Without REDISCLI_AUTH (the Job's env) no node answers PING: the script fails, naming the node.
    const { REDISCLI_AUTH: _, ...noAuth } = env;
    const refused = await $({
      env: { ...noAuth, REDIS_CLUSTER_WAIT_SECONDS: '3' },
      timeout: 60_000,
      nothrow: true,
    })`sh ${script}`;
    assert.notEqual(refused.exitCode, 0, 'the script succeeded without REDISCLI_AUTH');
    assert.match(refused.stderr, /127\.0\.0\.1:\d+ did not answer PING in time/);
  });
});
