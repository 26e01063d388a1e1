/** Orchestrator side of a load-generator process: fork it, pin it, and call its IPC commands. */
// fork, not zx: the generator is a Node child with an IPC channel (process.send), which zx's $ does not give.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Response } from '../loadgen/messages.js';
import { pin } from './cpus.js';

const generatorMain = fileURLToPath(new URL('../loadgen/generator.ts', import.meta.url));
const live = new Set<ChildProcess>();
// A crash of the orchestrator must not leave generators holding thousands of sockets.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class GeneratorProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    live.add(child);
    child.on('message', (msg: Response) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new Error(`load generator: ${msg.error}`));
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        for (const w of this.waiting.values()) {
          w.reject(new Error(`load generator exited (code ${code}, signal ${signal})`));
        }
        this.waiting.clear();
        resolve();
      });
    });
  }

  /**
   * Forks a generator process (tsx loader, own fd budget), pinned to `cpus` when given; with
   * `cpuProfileDir`, it writes a V8 CPU profile there.
   */
  static start(opts: { cpus?: string; cpuProfileDir?: string } = {}): GeneratorProcess {
    const execArgv = ['--import', 'tsx'];
    if (opts.cpuProfileDir) {
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfileDir, 'generators')}`);
    }
    const child = fork(generatorMain, [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const gen = new GeneratorProcess(child);
    if (opts.cpus && child.pid) pin(child.pid, opts.cpus);
    return gen;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Sends a command and waits for its result (rejects after `timeoutMs`). */
  call<T>(command: Command, timeoutMs = 180_000): Promise<T> {
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
      this.child.send({ id, command });
    });
  }

  /** Closes its connections politely, then ends the process (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.call({ cmd: 'close' }, 10_000).catch(() => undefined);
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
