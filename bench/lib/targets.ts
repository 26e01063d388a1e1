/**
 * The servers under test: Switchboard and the baselines in bench/baselines (Socket.IO 4, a plain
 * `ws` rooms server, the tuned `ws` reference), each started as its own process on loopback with
 * `--expose-gc` and the SIGUSR2 GC hook, one or two nodes, pinned to the server CPUs when asked.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  onFreePorts,
  startProcess,
  tempDir,
  waitForListener,
  type Managed,
} from '../../testkit/src/index.js';
import type { Endpoint } from '../loadgen/protocols.js';

export type TargetName = 'switchboard' | 'switchboard-workers' | 'socketio' | 'ws' | 'ws-tuned';
export const TARGET_NAMES: readonly TargetName[] = [
  'switchboard',
  'switchboard-workers',
  'socketio',
  'ws',
  'ws-tuned',
];

/** Switchboard started with `WORKERS=2`: the cost of spreading a node over processes, on the same CPUs. */
export const WORKERS_TARGET_COUNT = 2;

/** Both Switchboard targets: one process, and the node:cluster primary with its workers. */
export const isSwitchboard = (name: TargetName): boolean =>
  name === 'switchboard' || name === 'switchboard-workers';

/** How each target appears in tables. */
export const TARGET_LABELS: Record<TargetName, string> = {
  switchboard: 'Switchboard',
  'switchboard-workers': `Switchboard, ${WORKERS_TARGET_COUNT} workers`,
  socketio: 'Socket.IO',
  ws: 'plain ws',
  'ws-tuned': 'tuned ws',
};

const HOST = '127.0.0.1';
const file = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const scripts: Record<TargetName, string> = {
  switchboard: file('../../server/src/main.ts'),
  'switchboard-workers': file('../../server/src/main.ts'),
  socketio: file('../baselines/socketio-server.ts'),
  ws: file('../baselines/ws-rooms-server.ts'),
  'ws-tuned': file('../baselines/ws-tuned-server.ts'),
};
const gcHook = file('./gc-on-signal.ts');

export interface ServerNode {
  pid: number;
  port: number;
  proc: Managed;
}

export interface Target {
  name: TargetName;
  nodes: ServerNode[];
  /** Where fan-out subscribers (or the publisher) connect to on node `i`; the topic is set per room. */
  endpoint(i: number): Endpoint;
  /** Room `r` of workload `w`, in the target's topic syntax. */
  topic(w: string, r: number): string;
  /** Where idle connections connect to on node `i`; each joins `<topic>-<index>`, its own topic. */
  idleEndpoint(i: number): Endpoint;
  /**
   * Workload D: where subscribers opting in to recovery connect on node `i` (Switchboard's
   * publishers then publish through `POST /api/broadcast`, which a drain does not close).
   */
  stormEndpoint(i: number): Endpoint;
  /**
   * Workload D's cut: node `i` closes every subscriber connection at once, as a deploy does.
   * Switchboard: `POST /api/drain` of 100 % over a window of 0 ms (every socket closed with 1012
   * in one batch, the node stays up with its history); baselines: their `POST /drain`.
   * Resolves with the number of connections the server said it closes.
   */
  cut(i: number): Promise<number>;
  /** Asks node `i` for a full GC (SIGUSR2 hook). */
  gc(i: number): void;
  stop(): Promise<void>;
}

export interface TargetOptions {
  nodes: 1 | 2;
  /** Required for two nodes: the Redis they share. */
  redisUrl?: string;
  /** When set, each server process writes a V8 CPU profile there on exit. */
  cpuProfileDir?: string;
  /** Extra environment for the server (e.g. Switchboard tuning knobs under test). */
  env?: Record<string, string>;
  /** Runs this script instead of the target's own (tests: a deliberately faulty server). */
  script?: string;
  /** taskset CPU list the server processes are confined to. */
  cpus?: string;
  /** Extra `node` flags for every server process (e.g. `--heapsnapshot-signal=SIGUSR1`). */
  nodeArgs?: string[];
  /** Turn on the server's recovery where it is a server option (Socket.IO's connection state recovery). */
  recovery?: boolean;
}

/** Starts `name` with `opts.nodes` nodes and waits until each accepts connections. */
export async function startTarget(name: TargetName, opts: TargetOptions): Promise<Target> {
  if (opts.nodes === 2 && !opts.redisUrl) throw new Error('two nodes need opts.redisUrl (a shared Redis)');
  const jwtSecret = randomBytes(32).toString('base64url');
  const apiToken = randomBytes(24).toString('base64url');
  const logDir = tempDir(`bench-${name}`);
  const nodes: ServerNode[] = [];
  const stopAll = async () => {
    // SIGTERM lets each process exit normally (and write its CPU profile); SIGKILL after 15 s.
    await Promise.all(nodes.map((n) => n.proc.stop('SIGTERM', 15_000)));
  };
  try {
    for (let i = 0; i < opts.nodes; i++) {
      // Picked ports can be taken before the process binds them: then it starts again on others.
      const node = await onFreePorts(2, async ([port, metricsPort]) => {
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          HOST,
          PORT: String(port),
          METRICS_PORT: String(metricsPort),
          ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
        };
        if (isSwitchboard(name)) {
          Object.assign(env, {
            NODE_ENV: 'production',
            NODE_ID: `bench-${i + 1}`,
            JWT_SECRET: jwtSecret,
            API_TOKEN: apiToken,
            LOG_LEVEL: 'warn',
            BROKER: opts.redisUrl ? 'redis' : 'memory',
            // One publisher connection sends thousands of messages per second: lift its rate limit.
            RATE_LIMIT_PER_SECOND: '1000000',
            RATE_LIMIT_BURST: '1000000',
            DRAIN_WINDOW_MS: '1000',
            // Every bench client comes from one address, many as one user: lift the connection caps.
            MAX_CONNECTIONS_PER_USER: '10000000',
            MAX_CONNECTIONS_PER_ADDRESS: '10000000',
            // Presence on room:* (the idle connections' per-user topics) but not on the fan-out
            // topic feed:bench: a 10,000-member presence_state per join is quadratic in members.
            PRESENCE_TOPICS: 'room:*',
          });
          if (name === 'switchboard-workers') env.WORKERS = String(WORKERS_TARGET_COUNT);
        }
        if (name === 'socketio' && opts.recovery) env.CONNECTION_STATE_RECOVERY = '1';
        Object.assign(env, opts.env);
        const args = ['--expose-gc', '--import', 'tsx', '--import', gcHook];
        if (opts.cpuProfileDir) args.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`);
        args.push(...(opts.nodeArgs ?? []));
        args.push(opts.script ?? scripts[name]);
        // taskset execs node in place, so the pid is the server's and every thread starts pinned.
        const [cmd, argv] = opts.cpus
          ? ['taskset', ['-c', opts.cpus, process.execPath, ...args]]
          : [process.execPath, args];
        const proc = startProcess(cmd, argv, { env, logDir, name: `${name}-${i + 1}` });
        await waitReady(name, port!, metricsPort!, proc).catch(async (err: unknown) => {
          await proc.stop('SIGKILL');
          throw err;
        });
        return { pid: proc.child.pid ?? -1, port: port!, proc };
      });
      nodes.push(node);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const endpointOf = (i: number, topic: string): Endpoint => {
    const node = nodes[i];
    if (!node) throw new Error(`target ${name} has no node ${i}`);
    if (isSwitchboard(name)) return { protocol: 'phoenix', host: HOST, port: node.port, topic, jwtSecret };
    return { protocol: name === 'socketio' ? 'socketio' : 'raw', host: HOST, port: node.port, topic };
  };
  return {
    name,
    nodes,
    endpoint(i) {
      return endpointOf(i, '');
    },
    topic(w, r) {
      return `${isSwitchboard(name) ? 'feed:' : ''}bench-${w}-${r}`;
    },
    idleEndpoint(i) {
      return endpointOf(i, isSwitchboard(name) ? 'room:idle' : 'idle');
    },
    stormEndpoint(i) {
      return { ...endpointOf(i, ''), recover: true, ...(isSwitchboard(name) ? { apiToken } : {}) };
    },
    async cut(i) {
      const node = nodes[i];
      if (!node) throw new Error(`target ${name} has no node ${i}`);
      const sb = isSwitchboard(name);
      const res = await fetch(`http://${HOST}:${node.port}${sb ? '/api/drain' : '/drain'}`, {
        method: 'POST',
        headers: sb ? { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' } : {},
        body: sb ? JSON.stringify({ percent: 100, window_ms: 0 }) : undefined,
      });
      const body = (await res.json().catch(() => ({}))) as { closing?: number; closed?: number };
      if (res.status !== (sb ? 202 : 200)) {
        throw new Error(`${name}: the cut (drain) answered ${res.status} ${JSON.stringify(body)}`);
      }
      return body.closing ?? body.closed ?? 0;
    },
    gc(i) {
      nodes[i]?.proc.child.kill('SIGUSR2');
    },
    stop: stopAll,
  };
}

/** `port`: for switchboard its METRICS_PORT (where /healthz is served). */
async function waitReady(name: TargetName, port: number, metricsPort: number, proc: Managed): Promise<void> {
  const deadline = Date.now() + 30_000;
  await waitForListener(proc, {
    ports: isSwitchboard(name) ? [port, metricsPort] : [port],
    what: name,
    addrInUse: /EADDRINUSE/,
    timeoutMs: 30_000,
  });
  for (;;) {
    if (proc.child.exitCode !== null) {
      throw new Error(`${name} exited with ${proc.child.exitCode} during start-up:\n${proc.output()}`);
    }
    const ok =
      !isSwitchboard(name) ||
      (await fetch(`http://${HOST}:${metricsPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`${name} on port ${port} not ready in 30 s:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
