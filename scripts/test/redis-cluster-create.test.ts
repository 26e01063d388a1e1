// base/redis/cluster/create-cluster.sh, the script the Redis Cluster create Job runs, against six
// real cluster-mode redis-servers on loopback: it waits for late nodes, forms 3 masters with one
// replica each, and a second run changes nothing.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { freePort, startProcess, tempDir, waitForPort, type Managed } from '../../testkit/src/index.js';
import { repoRoot } from './validate-fixtures.js';

const run = promisify(execFile);
const script = join(repoRoot, 'base/redis/cluster/create-cluster.sh');

/** A cluster-mode redis-server on `port`, not yet part of any cluster. */
async function clusterNode(port: number): Promise<Managed> {
  const dir = tempDir('redis-create');
  const busPort = await freePort();
  const proc = startProcess(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      ...[
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-port',
        String(busPort),
      ],
      ...['--cluster-node-timeout', '2000'],
    ],
    { logDir: dir, name: `redis-create-${port}` },
  );
  await waitForPort(port);
  return proc;
}

function cli(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { timeout: 5000 }).toString();
}

describe('Redis Cluster create script', () => {
  const nodes: Managed[] = [];
  const ports: number[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGTERM', 5000)));
  });

  test('refuses to run without a host list, naming the variable', async () => {
    const err = await run('sh', [script], {
      env: { ...process.env, REDIS_CLUSTER_HOSTS: '' },
      timeout: 30_000,
    }).then(
      () => undefined,
      (e: Error & { stderr?: string }) => e,
    );
    assert.ok(err, 'the script succeeded without REDIS_CLUSTER_HOSTS');
    assert.match(String(err.stderr), /REDIS_CLUSTER_HOSTS/);
  });

  test('waits for every node, forms 3 masters + 3 replicas, and is a no-op the second time', async () => {
    for (let i = 0; i < 6; i++) ports.push(await freePort());
    for (const port of ports.slice(0, 5)) nodes.push(await clusterNode(port));
    const env = {
      ...process.env,
      REDIS_CLUSTER_HOSTS: ports.map((p) => `127.0.0.1:${p}`).join(' '),
      REDIS_CLUSTER_REPLICAS: '1',
      REDIS_CLUSTER_WAIT_SECONDS: '60',
    };
    // The sixth node is not up yet: the script must wait for it rather than fail or form 5.
    const creating = run('sh', [script], { env, timeout: 120_000 });
    await new Promise((r) => setTimeout(r, 2000));
    nodes.push(await clusterNode(ports[5]!));
    const { stdout } = await creating;
    assert.match(stdout, /creating the cluster/);

    // Roles spread by gossip: give node 0 a bounded moment to learn all of them.
    const deadline = Date.now() + 20_000;
    let info: string;
    let replicas: number;
    for (;;) {
      info = cli(ports[0]!, 'cluster', 'info');
      replicas = (cli(ports[0]!, 'cluster', 'nodes').match(/\bslave\b/g) ?? []).length;
      if ((/cluster_state:ok/.test(info) && replicas === 3) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(info, /cluster_state:ok/);
    assert.match(info, /cluster_known_nodes:6/);
    assert.match(info, /cluster_size:3/);
    assert.equal(replicas, 3);

    const again = await run('sh', [script], { env, timeout: 60_000 });
    assert.match(again.stdout, /already formed \(6 nodes known\), nothing to do/);
  });
});
