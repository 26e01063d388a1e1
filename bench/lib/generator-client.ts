/**
 * Orchestrator side of a load-generator process: start it through zx (pinned with taskset from
 * its first instruction), and call its commands over a JSON-lines channel: one Request per line on
 * the generator's stdin, one Response per line on its stdout (messages.ts).
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { $, type ProcessPromise } from 'zx';
import type { Command, Request, Response } from '../loadgen/messages.js';

const generatorMain = fileURLToPath(new URL('../loadgen/generator.ts', import.meta.url));
/** Pids of the generators still running. */
const live = new Set<number>();
// A crash of the orchestrator must not leave generators holding thousands of sockets. The 'exit'
// handler must be synchronous, so it signals the pids itself (zx's kill() is asynchronous).
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** zx keeps every chunk of a process's output for its ProcessOutput; a generator's stdout is read
 * line by line here, so its store keeps nothing (0 bytes however long the run). */
class Discard<T> extends Array<T> {
  override push(): number {
    return 0;
  }
}
const discardStore = () => ({
  stdout: new Discard<string | Buffer>(),
  stderr: new Discard<string | Buffer>(),
  stdall: new Discard<string | Buffer>(),
});

function isResponse(v: unknown): v is Response {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'number' && 'ok' in v;
}

export class GeneratorProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly exited: Promise<void>;
  private done = false;

  private constructor(private readonly proc: ProcessPromise) {
    const pid = proc.pid;
    if (pid !== undefined) live.add(pid);
    // Lines that are not responses (a library printing to stdout) go to stderr, where they belong.
    createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', (line) => {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = undefined;
      }
      if (!isResponse(msg)) {
        process.stderr.write(`load generator ${pid}: ${line}\n`);
        return;
      }
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new Error(`load generator: ${msg.error}`));
    });
    // A write after the generator died fails with EPIPE; its exit is reported below.
    proc.stdin.on('error', () => undefined);
    this.exited = proc.then(
      (out) => {
        this.done = true;
        if (pid !== undefined) live.delete(pid);
        for (const w of this.waiting.values()) {
          w.reject(new Error(`load generator exited (code ${out.exitCode}, signal ${out.signal})`));
        }
        this.waiting.clear();
      },
      () => undefined, // nothrow: a ProcessPromise resolves whatever the exit; nothing lands here
    );
  }

  /**
   * Starts a generator process (tsx loader, own fd budget), pinned to `cpus` when given (taskset
   * starts it there, so every thread it makes is pinned); with `cpuProfileDir`, it writes a V8 CPU
   * profile there.
   */
  static start(opts: { cpus?: string; cpuProfileDir?: string } = {}): GeneratorProcess {
    const node = [process.execPath, '--import', 'tsx'];
    if (opts.cpuProfileDir) {
      node.push('--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfileDir, 'generators')}`);
    }
    const pin = opts.cpus ? ['taskset', '-c', opts.cpus] : [];
    // `exec`: the shell becomes taskset, which becomes node, so the pid is the generator's own.
    const proc = $({
      prefix: 'exec ',
      stdio: ['pipe', 'pipe', 'inherit'],
      nothrow: true,
      quiet: true,
      verbose: false,
      env: process.env,
      store: discardStore(),
    })`${[...pin, ...node, generatorMain]}`;
    return new GeneratorProcess(proc);
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Sends a command and waits for its result (rejects after `timeoutMs`). */
  call<T>(command: Command, timeoutMs = 180_000): Promise<T> {
    if (this.done) return Promise.reject(new Error(`load generator ${this.pid} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load generator did not answer ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.stdin.write(`${JSON.stringify({ id, command } satisfies Request)}\n`);
    });
  }

  /** Closes its connections politely, then ends the process (end of its stdin; SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.done) return;
    await this.call({ cmd: 'close' }, 10_000).catch(() => undefined);
    this.proc.stdin.end();
    const timer = setTimeout(() => void this.proc.kill('SIGKILL').catch(() => undefined), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
