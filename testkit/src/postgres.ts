// node:child_process: initdb runs once to completion; the server itself is a testkit-managed child.
import { execFile } from 'node:child_process';
import { chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PortTakenError, onFreePorts } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

const run = promisify(execFile);

export interface PostgresServer {
  port: number;
  url: string;
  /** Immediate shutdown (like a crash: no checkpoint). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The bin directory of Debian's newest installed PostgreSQL (server and client tools). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: run scripts/setup.sh');
  return join(root, versions[0]!, 'bin');
}

function pgBin(name: string): string {
  return join(postgresBinDir(), name);
}

// initdb refuses to run as root, so as root we run initdb as the `postgres` user.
const asRoot = process.getuid?.() === 0;
function cmd(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', pgBin(bin), ...args]] : [pgBin(bin), args];
}

/**
 * Starts a real, ephemeral PostgreSQL (initdb, then the `postgres` server itself) on a free loopback
 * port, trust auth, database `postgres`. The server runs in the foreground as this process's child
 * (not daemonised by pg_ctl), so whoever started it can find and kill it as a descendant, e.g. the
 * rehearsal on a second Ctrl-C. Ready when the postmaster logs that it accepts connections; a port
 * held by another process makes it exit with "Address already in use" and the start is retried.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const dir = tempDir('pg');
  const owner = asRoot ? await postgresUser() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  await run(...cmd('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']), {
    timeout: 60_000,
  });
  let server: Managed | undefined;
  let starts = 0;
  const start = (port: number) => async () => {
    const proc = startProcess(
      pgBin('postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-k',
        dir,
        '-c',
        'fsync=off',
        '-c',
        'max_connections=200',
      ],
      { logDir: dir, name: `postgres-${++starts}`, cwd: dir, ...(owner ?? {}) },
    );
    const deadline = Date.now() + 60_000;
    while (!/ready to accept connections/.test(proc.output())) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null || Date.now() > deadline) {
        await proc.stop('SIGQUIT', 2000);
        const msg = `PostgreSQL did not start on ${port}:\n${proc.output()}`;
        throw /Address already in use/.test(proc.output()) ? new PortTakenError(msg) : new Error(msg);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    server = proc;
  };
  const port = await onFreePorts(1, async ([p]) => {
    await start(p!)();
    return p!;
  });
  // PostgreSQL's shutdown modes are signals to the postmaster: SIGINT fast, SIGQUIT immediate.
  const stopWith = (signal: NodeJS.Signals) => async () => {
    await server?.stop(signal, 30_000);
  };
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill: stopWith('SIGQUIT'),
    restart: start(port),
    stop: stopWith('SIGINT'),
  };
}

/** The `postgres` user's ids: as root, the server runs as that user (it refuses to run as root). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}
