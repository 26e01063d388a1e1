import { execFile, execFileSync } from 'node:child_process';
import { chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
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

/** Starts a real, ephemeral PostgreSQL (initdb + pg_ctl) on a free loopback port, trust auth, database `postgres`. */
export async function startPostgres(): Promise<PostgresServer> {
  const port = await freePort();
  const dir = tempDir('pg');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout), Number(gid));
  }
  const data = join(dir, 'data');
  await run(...cmd('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']), {
    timeout: 60_000,
  });
  const start = async () => {
    await run(
      ...cmd('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'postgres.log'),
        '-w',
        '-t',
        '30',
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=200`,
        'start',
      ]),
      { timeout: 60_000 },
    );
  };
  const stopWith = (mode: string) => async () => {
    await run(...cmd('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']), { timeout: 60_000 }).catch(
      () => undefined,
    );
  };
  await start();
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
    restart: start,
    stop,
  };
}
