import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1. The port is released before return, so another
 * process may bind it first: only `onFreePorts` (which retries then) should call this.
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A start attempt lost its port to another process (the service reported EADDRINUSE). */
export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/**
 * Starts a service that cannot bind port 0 and report it (redis-server, PostgreSQL, nginx, a
 * switchboard with two ports) on `count` ports picked by the kernel. Another process can bind a port
 * between the pick and the service's bind; `start` then throws PortTakenError and is called again
 * with new ports, at most `attempts` times.
 */
export async function onFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    try {
      return await start(ports);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= attempts) throw err;
    }
  }
}

/** Socket inodes of the fds process `pid` holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out; // exited
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * TCP ports on which process `pid` itself holds a listening socket (Linux /proc: its socket fds
 * matched against the LISTEN entries of its network namespace). Unlike a successful connect, this
 * cannot mistake another process on the same port for the service.
 */
export function listeningPorts(pid: number): number[] {
  const inodes = socketInodes(pid);
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; st 0A is LISTEN; the inode is column 9.
      if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** What `waitForListener` watches: a child process, its output and its exit. */
export interface ListenerProcess {
  child: { pid?: number | undefined; exitCode: number | null; signalCode: NodeJS.Signals | null };
  output(): string;
}

export interface WaitForListenerOptions {
  /** Ports the process must listen on; empty or absent: any one port (a service told to bind port 0). */
  ports?: number[];
  /** Name used in errors, e.g. `redis-server`. */
  what: string;
  /** Matches the process's output when it exited because its port was taken. */
  addrInUse?: RegExp;
  /** Default 30 s. */
  timeoutMs?: number;
  /** The pid to look at when it is not `proc.child.pid` (e.g. a daemon's, read from its pid file). */
  pid?: () => number | undefined;
}

/**
 * Waits until the process itself listens on every port in `opts.ports` (or on some port) and
 * returns the ports it listens on. Rejects with PortTakenError when it exits saying its port was
 * taken, and with an Error carrying its output when it exits otherwise or the time runs out.
 */
export async function waitForListener(
  proc: ListenerProcess,
  opts: WaitForListenerOptions,
): Promise<number[]> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const wanted = opts.ports ?? [];
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      const output = proc.output();
      const msg = `${opts.what} exited (${proc.child.exitCode ?? proc.child.signalCode}) before listening:\n${output}`;
      throw opts.addrInUse?.test(output) ? new PortTakenError(msg) : new Error(msg);
    }
    const pid = opts.pid ? opts.pid() : proc.child.pid;
    if (pid !== undefined) {
      const ports = listeningPorts(pid);
      if (wanted.length === 0 ? ports.length > 0 : wanted.every((p) => ports.includes(p))) return ports;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${opts.what} did not listen on ${wanted.join(', ') || 'a port'} within ${timeoutMs} ms:\n${proc.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A loopback port where connections are refused, for tests of an unreachable peer: port 1
 * (tcpmux), below the ephemeral range, so no port-0 bind (ours or the kernel's for outgoing
 * connections) ever takes it. Checked to refuse before it is returned.
 */
export async function refusedPort(): Promise<number> {
  const port = 1;
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
  if (!refused) throw new Error(`127.0.0.1:${port} does not refuse connections: something listens there`);
  return port;
}

/** Resolves once a TCP connection to host:port succeeds, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${host}:${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
