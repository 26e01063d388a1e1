import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../telemetry/logger.js';
import { IpcEndpoint, type IpcHandler, type IpcMessage } from './ipc.js';
import type { WorkerPort } from './node-bus.js';

/** Restarts a pod allows within a minute; one more and the primary exits 1 (Kubernetes restarts the pod). */
export const MAX_RESTARTS_PER_MINUTE = 5;

/** How long the primary waits for one worker's answer to a probe, scrape or share drain. */
const ASK_TIMEOUT_MS = 3000;

/**
 * Publication bytes (counted as string length) the primary may have queued on one worker's IPC
 * channel and not yet written. Beyond it, further publications to that worker are dropped
 * (at-most-once, as the broker interface promises: its clients recover from history) instead of
 * growing the primary's memory behind a worker that stopped reading. Other messages are small and
 * never dropped.
 */
export const MAX_QUEUED_PUB_BYTES = 64 * 1024 * 1024;

/** One live worker as the primary holds it. */
export interface WorkerLink extends WorkerPort {
  readonly worker: Worker;
  readonly endpoint: IpcEndpoint;
  /** Set once the worker listens on PORT. */
  listening: boolean;
}

export interface WorkerPoolOptions {
  size: number;
  /** Environment every worker gets over the primary's (shared NODE_ID, generated secrets). */
  env: Record<string, string>;
  /** Request and note handlers for one worker (node services + pod-wide requests). */
  handlersFor(port: WorkerPort): Map<string, IpcHandler>;
  /** A worker exited: give back what it held. */
  detach(port: WorkerPort): Promise<void>;
  logger: Logger;
  /** Restarts exceeded MAX_RESTARTS_PER_MINUTE: the pod must go. */
  onGiveUp(): void;
}

/**
 * The primary's workers: forks `size` of them, restarts one that exits while the pod runs (at most
 * MAX_RESTARTS_PER_MINUTE, then gives up), and stops them all on shutdown.
 */
export class WorkerPool {
  readonly links = new Map<number, WorkerLink>();
  private readonly restarts: number[] = [];
  private stopping = false;
  private onListening: (() => void) | undefined;

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Forks every worker; resolves when all listen on PORT. */
  start(): Promise<void> {
    const all = new Promise<void>((resolve) => {
      this.onListening = () => {
        if ([...this.links.values()].filter((l) => l.listening).length === this.opts.size) resolve();
      };
    });
    for (let i = 0; i < this.opts.size; i++) this.fork();
    return all;
  }

  /** True when every worker listens. */
  get complete(): boolean {
    return this.links.size === this.opts.size && [...this.links.values()].every((l) => l.listening);
  }

  /**
   * Asks every worker that listens `op`; one that fails, exits or takes over ASK_TIMEOUT_MS answers
   * `fallback` (a scrape or a probe must not hang on a worker being replaced).
   */
  ask<T>(op: string, fallback: T, args: unknown[] = [], timeoutMs = ASK_TIMEOUT_MS): Promise<T[]> {
    const live = [...this.links.values()].filter((l) => l.listening);
    return Promise.all(
      live.map((l) => withFallback(l.endpoint.request<T>(op, ...args), fallback, timeoutMs)),
    );
  }

  /** Shutdown: no more restarts; tells every worker to exit and waits (at most `timeoutMs`), then kills. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const exits = [...this.links.values()].map(
      (l) =>
        new Promise<void>((resolve) =>
          l.worker.isDead() ? resolve() : l.worker.once('exit', () => resolve()),
        ),
    );
    for (const l of this.links.values()) l.notify('exit');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(exits), late]);
    clearTimeout(timer);
    for (const l of this.links.values()) if (!l.worker.isDead()) l.worker.process.kill('SIGKILL');
  }

  private fork(): void {
    const worker = cluster.fork(this.opts.env);
    const link: WorkerLink = {
      id: worker.id,
      worker,
      listening: false,
      endpoint: undefined as unknown as IpcEndpoint,
      notify: (op, ...args) => link.endpoint.notify(op, ...args),
    };
    const handlers = this.opts.handlersFor(link);
    handlers.set('listening', () => {
      link.listening = true;
      this.onListening?.();
    });
    (link as { endpoint: IpcEndpoint }).endpoint = new IpcEndpoint(
      this.boundedSender(worker),
      handlers,
      (op, err) =>
        this.opts.logger.error({ err, op, worker: worker.id }, 'workers: a message from a worker failed'),
    );
    this.links.set(worker.id, link);
    worker.on('message', (m) => link.endpoint.receive(m));
    worker.on('exit', (code, signal) => void this.exited(link, code, signal));
  }

  /** Sends to `worker`, dropping publications while MAX_QUEUED_PUB_BYTES of them wait to be written. */
  private boundedSender(worker: Worker): (m: IpcMessage) => void {
    let queued = 0;
    let droppedSinceLog = 0;
    let lastLog = 0;
    return (m) => {
      const pub = m.sb === 'note' && m.op === 'pub' ? (m.args[0] as string) : undefined;
      if (pub === undefined) {
        worker.send(m);
        return;
      }
      if (queued + pub.length > MAX_QUEUED_PUB_BYTES) {
        droppedSinceLog++;
        const now = Date.now();
        if (now - lastLog > 10_000) {
          lastLog = now;
          this.opts.logger.warn(
            { worker: worker.id, dropped: droppedSinceLog, queuedBytes: queued },
            'workers: a worker is not reading its publications: dropped',
          );
          droppedSinceLog = 0;
        }
        return;
      }
      queued += pub.length;
      worker.send(m, undefined, undefined, () => {
        queued -= pub.length;
      });
    };
  }

  private async exited(link: WorkerLink, code: number | null, signal: string | null): Promise<void> {
    link.endpoint.close();
    this.links.delete(link.id);
    await this.opts.detach(link);
    if (this.stopping) return;
    const now = Date.now();
    this.restarts.push(now);
    while (this.restarts.length > 0 && this.restarts[0]! < now - 60_000) this.restarts.shift();
    const pid = link.worker.process.pid;
    if (this.restarts.length > MAX_RESTARTS_PER_MINUTE) {
      this.opts.logger.fatal(
        { worker: link.id, pid, code, signal, restarts: this.restarts.length },
        `worker exited: more than ${MAX_RESTARTS_PER_MINUTE} restarts in a minute, the pod exits`,
      );
      this.stopping = true;
      return this.opts.onGiveUp();
    }
    this.opts.logger.error({ worker: link.id, pid, code, signal }, 'worker exited: starting another');
    this.fork();
  }
}

function withFallback<T>(answer: Promise<T>, fallback: T, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), timeoutMs)));
  return Promise.race([answer.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}
