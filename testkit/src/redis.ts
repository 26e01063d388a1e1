import { execFileSync } from 'node:child_process';
import { onFreePorts, waitForListener } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

/** How a test Redis is started. */
export interface RedisAuthOptions {
  /** `requirepass` (and, on a cluster, `masterauth`): clients must AUTH with it. Default: no auth. */
  password?: string;
}

export interface RedisServer {
  host: string;
  port: number;
  /** redis://host:port, without credentials (pass `password` separately, e.g. as REDIS_PASSWORD). */
  url: string;
  /** The password the server requires, when started with one. */
  password?: string;
  /** Kills the server (SIGKILL: like a crash). Data is not persisted. */
  kill(): Promise<void>;
  /** Starts it again on the same port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function authArgs(password: string | undefined, cluster: boolean): string[] {
  if (password === undefined) return [];
  return ['--requirepass', password, ...(cluster ? ['--masterauth', password] : [])];
}

/** Environment for redis-cli against a server with `password` (REDISCLI_AUTH, so it is not on argv). */
function cliEnv(password: string | undefined): NodeJS.ProcessEnv {
  return password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: password };
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

const addrInUse = /Address already in use/;

/** Starts `redis-server` on `port` and waits until that process itself listens there (and on `busPort`). */
async function launchRedis(
  port: number,
  dir: string,
  extra: string[],
  name: string,
  busPort?: number,
): Promise<Managed> {
  const proc = startProcess('redis-server', redisArgs(port, dir, extra), { logDir: dir, name });
  try {
    const ports = busPort === undefined ? [port] : [port, busPort];
    await waitForListener(proc, { ports, what: `redis-server on ${port}`, addrInUse });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

/** Starts a real, ephemeral standalone `redis-server` on a free loopback port (with `requirepass` when given). */
export async function startRedis(
  extraArgs: string[] = [],
  options: RedisAuthOptions = {},
): Promise<RedisServer> {
  const dir = tempDir('redis');
  const args = [...extraArgs, ...authArgs(options.password, false)];
  const started = await onFreePorts(1, async ([p]) => ({
    port: p!,
    proc: await launchRedis(p!, dir, args, `redis-${p}`),
  }));
  const { port } = started;
  let { proc } = started;
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    password: options.password,
    async kill() {
      await proc.stop('SIGKILL');
    },
    // Same port, as a restarted pod behind a Service: a port taken meanwhile fails with the output.
    async restart() {
      proc = await launchRedis(port, dir, args, `redis-${port}`);
    },
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** Comma-separated host:port list, the form REDIS_CLUSTER_NODES takes. */
  nodesEnv: string;
  /** The password every node requires (requirepass + masterauth), when started with one. */
  password?: string;
  stop(): Promise<void>;
}

/** Cluster-enabled redis-servers that have not formed a cluster yet (what a StatefulSet's pods are before a create Job). */
export interface RedisClusterNodes {
  nodes: { host: string; port: number }[];
  /** The password every node requires (requirepass + masterauth), when started with one. */
  password?: string;
  stop(): Promise<void>;
}

/**
 * Starts `count` real, ephemeral cluster-enabled `redis-server`s on free loopback ports (each with its
 * own bus port and nodes.conf in its own dir; with `password`, requirepass and masterauth) and waits
 * until each accepts connections. They form no cluster: `redis-cli --cluster create` (or a script
 * doing it) does that.
 */
export async function startRedisClusterNodes(
  count: number,
  options: RedisAuthOptions = {},
): Promise<RedisClusterNodes> {
  const procs: Managed[] = [];
  const nodes: { host: string; port: number }[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 5000)));
  };
  try {
    for (let i = 0; i < count; i++) {
      const node = await onFreePorts(2, async ([port, busPort]) => {
        const dir = tempDir('redis-cluster');
        const args = [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `${dir}/nodes.conf`,
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '2000',
          ...authArgs(options.password, true),
        ];
        return { port: port!, proc: await launchRedis(port!, dir, args, `redis-cluster-${port}`, busPort) };
      });
      procs.push(node.proc);
      nodes.push({ host: '127.0.0.1', port: node.port });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, password: options.password, stop };
}

/**
 * Starts a real Redis Cluster of `masters` masters (no replicas) made with `--cluster-enabled` and
 * `redis-cli --cluster create`; with `password`, every node has requirepass and masterauth.
 */
export async function startRedisCluster(masters = 3, options: RedisAuthOptions = {}): Promise<RedisCluster> {
  const env = cliEnv(options.password);
  const { nodes, stop } = await startRedisClusterNodes(masters, options);
  try {
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
      { stdio: 'pipe', timeout: 30_000, env },
    );
    const deadline = Date.now() + 30_000;
    for (const n of nodes) {
      for (;;) {
        const info = execFileSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], {
          timeout: 5000,
          env,
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
  return {
    nodes,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    password: options.password,
    stop,
  };
}
