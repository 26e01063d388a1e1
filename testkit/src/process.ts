// node:child_process: long-lived services (Redis, PostgreSQL, nginx...) that a test starts, signals and
// stops while it runs, with their output in a log file; not one command run to completion.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
// Last resort: whatever a test forgot to stop dies with the test process.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sb-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export interface Managed {
  child: ChildProcess;
  /** Everything the process printed (stdout+stderr), also written to `logFile`. */
  output(): string;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for exit; SIGKILL after `graceMs`. */
  stop(
    signal?: NodeJS.Signals,
    graceMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a long-running process whose output is captured and which is killed when the test process exits. */
export function startProcess(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { logDir: string; name: string },
): Managed {
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logFile);
  let buf = '';
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const onData = (d: Buffer) => {
    log.write(d);
    if (buf.length < 4_000_000) buf += d.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      log.end();
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(child);
      buf += `\nspawn error: ${err.message}`;
      resolve({ code: -1, signal: null });
    });
  });
  return {
    child,
    logFile,
    output: () => buf,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  };
}
