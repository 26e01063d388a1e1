import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PortTakenError, onFreePorts } from './ports.js';
import { tempDir } from './process.js';

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

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: run scripts/setup.sh');
  return join(root, versions[0]!, 'bin', name);
}

// initdb refuses to run as root, so as root we run the server binaries as the `postgres` user.
const asRoot = process.getuid?.() === 0;
function cmd(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', pgBin(bin), ...args]] : [pgBin(bin), args];
}

/**
 * Starts a real, ephemeral PostgreSQL (initdb + pg_ctl) on a free loopback port, trust auth, database
 * `postgres`. `pg_ctl -w` waits for this postmaster's own "ready" status (postmaster.pid), so a port
 * held by another process is never mistaken for it: the start fails and is retried on another port.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const dir = tempDir('pg');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout), Number(gid));
  }
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  await run(...cmd('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']), {
    timeout: 60_000,
  });
  // The log is appended to by every start: read only what this attempt wrote.
  const logSince = (offset: number): string => {
    try {
      return readFileSync(log).subarray(offset).toString();
    } catch {
      return '';
    }
  };
  const start = (port: number) => async () => {
    const offset = existsSync(log) ? statSync(log).size : 0;
    try {
      await run(
        ...cmd('pg_ctl', [
          '-D',
          data,
          '-l',
          log,
          '-w',
          '-t',
          '30',
          '-o',
          `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=200`,
          'start',
        ]),
        { timeout: 60_000 },
      );
    } catch (err) {
      const output = logSince(offset);
      const msg = `PostgreSQL did not start on ${port}: ${(err as Error).message}\n${output}`;
      throw /Address already in use/.test(output) ? new PortTakenError(msg) : new Error(msg);
    }
  };
  const port = await onFreePorts(1, async ([p]) => {
    await start(p!)();
    return p!;
  });
  const stopWith = (mode: string) => async () => {
    await run(...cmd('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']), { timeout: 60_000 }).catch(
      () => undefined,
    );
  };
  const stop = stopWith('fast');
  process.once('exit', () => {
    // Best effort if a test forgot to stop it: the server is a daemon, not our child.
    try {
      const [c, a] = cmd('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      execFileSync(c, a, { stdio: 'ignore' });
    } catch {
      /* already stopped */
    }
  });
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill: stopWith('immediate'),
    restart: start(port),
    stop,
  };
}
