import { execFileSync } from 'node:child_process';
import { freePort, waitForPort } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

export interface RedisServer {
  host: string;
  port: number;
  url: string;
  /** Kills the server (SIGKILL: like a crash). Data is not persisted. */
  kill(): Promise<void>;
  /** Starts it again on the same port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function redisArgs(port: number, dir: string, extra: string[]): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    ...extra,
  ];
}

/** Starts a real, ephemeral standalone `redis-server` on a free loopback port. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  let proc: Managed;
  const launch = async () => {
    proc = startProcess('redis-server', redisArgs(port, dir, extraArgs), {
      logDir: dir,
      name: `redis-${port}`,
    });
    await waitForPort(port);
  };
  await launch();
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      await proc.stop('SIGKILL');
    },
    restart: launch,
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** Comma-separated host:port list, the form REDIS_CLUSTER_NODES takes. */
  nodesEnv: string;
  stop(): Promise<void>;
}

/** Starts a real Redis Cluster of `masters` masters (no replicas) made with `--cluster-enabled` and `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const procs: Managed[] = [];
  const nodes: { host: string; port: number }[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort();
    const busPort = await freePort();
    const dir = tempDir('redis-cluster');
    procs.push(
      startProcess(
        'redis-server',
        redisArgs(port, dir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `${dir}/nodes.conf`,
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '2000',
        ]),
        { logDir: dir, name: `redis-cluster-${port}` },
      ),
    );
    nodes.push({ host: '127.0.0.1', port });
  }
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 5000)));
  };
  try {
    await Promise.all(nodes.map((n) => waitForPort(n.port)));
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `${n.host}:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { stdio: 'pipe', timeout: 30_000 },
    );
    const deadline = Date.now() + 30_000;
    for (const n of nodes) {
      for (;;) {
        const info = execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], {
          timeout: 5000,
        }).toString();
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`redis cluster did not reach cluster_state:ok:\n${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','), stop };
}
