import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { waitForPort } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

const run = promisify(execFile);

/** Crash and restart control over one running redis-server (standalone or cluster member). */
export interface RedisNodeFaults {
  /** SIGKILLs the server (like a crash) and waits until its port is closed. */
  kill(): Promise<void>;
  /** Starts it again with the same port, dir and cluster config; for a cluster member, waits for cluster_state:ok. */
  restart(): Promise<void>;
  /** Stops the instance restart() started (no-op otherwise). */
  stop(): Promise<void>;
  /**
   * Drops every key (FLUSHALL), as a failover to an empty replica or a restart without persistence
   * loses them; a cluster replica refuses writes, so only a master (or a standalone server) flushes.
   * Says whether it flushed.
   */
  flush(): Promise<boolean>;
}

async function cli(port: number, password: string | undefined, ...args: string[]): Promise<string> {
  // REDISCLI_AUTH, so the password is not on redis-cli's command line.
  const env = password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: password };
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 5000, env });
  return stdout;
}

async function configGet(port: number, password: string | undefined, name: string): Promise<string> {
  const lines = (await cli(port, password, 'config', 'get', name)).split('\n');
  return (lines[1] ?? '').trim();
}

async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/**
 * Fault injection for a redis-server that testkit started (`startRedisCluster` members in particular,
 * which have no kill/restart of their own). The restart reuses the node's data dir, so a cluster member
 * comes back with its nodes.conf: same node id, same slots. Give `password` for a node with
 * requirepass (the restart keeps requirepass and, on a cluster, masterauth).
 */
export function redisNodeFaults(node: { port: number; password?: string }): RedisNodeFaults {
  const password = node.password;
  let restarted: Managed | undefined;
  let args: string[] | undefined;
  let cluster = false;
  return {
    async flush() {
      const role = (await cli(node.port, password, 'role')).split('\n')[0]?.trim();
      if (role !== 'master') return false;
      await cli(node.port, password, 'flushall');
      return true;
    },
    async kill() {
      const info = await cli(node.port, password, 'info', 'server');
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
      if (!pid) throw new Error(`no process_id in INFO of redis on ${node.port}`);
      cluster = (await configGet(node.port, password, 'cluster-enabled')) === 'yes';
      args = [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        await configGet(node.port, password, 'dir'),
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--daemonize',
        'no',
      ];
      if (cluster) {
        args.push(
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          await configGet(node.port, password, 'cluster-config-file'),
          '--cluster-port',
          await configGet(node.port, password, 'cluster-port'),
          '--cluster-node-timeout',
          await configGet(node.port, password, 'cluster-node-timeout'),
        );
      }
      if (password !== undefined) {
        args.push('--requirepass', password, ...(cluster ? ['--masterauth', password] : []));
      }
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while (!(await portClosed(node.port))) {
        if (Date.now() > deadline) throw new Error(`redis on ${node.port} still listening after SIGKILL`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async restart() {
      if (!args) throw new Error('restart() before kill()');
      // The cluster config file path redis reports is relative to its dir; run from there.
      const dir = args[args.indexOf('--dir') + 1]!;
      restarted = startProcess('redis-server', args, {
        cwd: dir,
        logDir: tempDir('redis-restart'),
        name: `redis-${node.port}`,
      });
      await waitForPort(node.port);
      if (!cluster) return;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const info = await cli(node.port, password, 'cluster', 'info').catch(() => '');
        if (info.includes('cluster_state:ok')) return;
        if (Date.now() > deadline) throw new Error(`redis cluster node ${node.port} not ok after restart`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await restarted?.stop('SIGTERM', 5000);
    },
  };
}
