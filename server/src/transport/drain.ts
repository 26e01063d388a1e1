import { setTimeout as sleep } from 'node:timers/promises';
import { CloseCode, drainCloseReason } from '../protocol/close-codes.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';

/** A connection the drainer can close. */
export interface DrainableSession {
  readonly isClosing: boolean;
  close(code: typeof CloseCode.serviceRestart, reason?: string): void;
  terminate(): void;
}

/** The node being drained. */
export interface DrainTarget {
  /** Open sessions, oldest first (a Set iterates in insertion order). */
  readonly sessions: ReadonlySet<DrainableSession>;
  /** Flips readiness to 503 and makes the transport refuse upgrades with 503. */
  startDraining(): void;
}

export interface DrainOptions {
  /** Budget to close every connection in (DRAIN_WINDOW_MS). */
  windowMs: number;
  /** After the last batch, how long close handshakes may take before sockets are cut. */
  graceMs?: number;
  logger: Logger;
  /** Source of the reconnect-hint jitter (tests pass a seeded one). */
  random?: () => number;
}

/** What a share drain was asked to do. */
export interface ShareDrain {
  /** Connections it closes (the oldest `percent` % of those open when it started). */
  closing: number;
  windowMs: number;
  /** Resolves when the last batch has been closed. */
  done: Promise<void>;
}

/** Why a share drain was refused. */
export type ShareRefusal = 'shutting_down' | 'busy';

/**
 * Graceful drain for deploys (SIGTERM): readiness goes 503 so the load balancer stops sending new
 * clients, new upgrades get 503, and open connections are closed with 1012 (service restart) in
 * paced batches spread over the window -- like Phoenix's drainer -- so that reconnecting clients
 * do not stampede the remaining replicas. Batches run every window/10 (at most every 2 s).
 *
 * A share drain (`POST /api/drain`: canary, rebalancing) closes the oldest N % of the sockets the
 * same way but keeps the node ready: the clients reconnect through the load balancer, some of them
 * to other pods. Every 1012 close carries a reconnect hint jittered over one batch interval, so a
 * batch's clients come back spread over that interval instead of all at once.
 */
export class Drainer {
  private running: Promise<void> | null = null;
  private share: Promise<void> | null = null;

  constructor(
    private readonly target: DrainTarget,
    private readonly opts: DrainOptions,
  ) {}

  get started(): boolean {
    return this.running !== null;
  }

  /** Starts the drain (once; later calls return the same promise); resolves when every connection is gone. */
  drain(): Promise<void> {
    return (this.running ??= this.run());
  }

  /** Closes the oldest `percent` % of the open sockets in paced batches over `windowMs`. */
  drainShare(percent: number, windowMs: number): ShareDrain | ShareRefusal {
    if (this.running) return 'shutting_down';
    if (this.share) return 'busy';
    const open = [...this.target.sessions].filter((s) => !s.isClosing);
    const chosen = open.slice(0, Math.ceil((open.length * percent) / 100));
    this.opts.logger.info(
      { percent, windowMs, closing: chosen.length, connections: open.length },
      'draining a share of the connections',
    );
    const done = this.closePaced(windowMs, () => {
      // Sockets already gone (or now closing for another reason) are not counted twice.
      const left = chosen.filter((s) => !s.isClosing && this.target.sessions.has(s));
      metrics.drainRemaining.set(left.length);
      return left;
    }).finally(() => {
      metrics.drainRemaining.set(0);
      this.share = null;
    });
    this.share = done;
    return { closing: chosen.length, windowMs, done };
  }

  private async run(): Promise<void> {
    const { windowMs, logger } = this.opts;
    const sessions = this.target.sessions;
    this.target.startDraining();
    metrics.draining.set(1);
    logger.info({ connections: sessions.size, windowMs }, 'draining');
    await this.closePaced(windowMs, () => {
      const open = [...sessions].filter((s) => !s.isClosing);
      metrics.drainRemaining.set(open.length);
      return open;
    });
    const deadline = Date.now() + (this.opts.graceMs ?? 5000);
    while (sessions.size > 0 && Date.now() < deadline) await sleep(25);
    if (sessions.size > 0)
      logger.warn({ connections: sessions.size }, 'drain grace over: cutting connections');
    for (const s of sessions) s.terminate();
    metrics.drainRemaining.set(0);
    logger.info('drained');
  }

  /**
   * Closes what `open()` returns, spread over `windowMs` in batches every window/10 (at most 2 s):
   * each batch takes its share of what is still open, so early closes by clients shorten later batches.
   */
  private async closePaced(windowMs: number, open: () => DrainableSession[]): Promise<void> {
    const stepMs = Math.min(2000, Math.floor(windowMs / 10));
    const steps = stepMs > 0 ? Math.max(1, Math.floor(windowMs / stepMs)) : 1;
    const random = this.opts.random ?? Math.random;
    for (let i = 0; i < steps; i++) {
      const left = open();
      if (left.length === 0) break;
      const batch = Math.ceil(left.length / (steps - i));
      for (let j = 0; j < batch; j++) {
        left[j]!.close(CloseCode.serviceRestart, drainCloseReason(Math.floor(random() * stepMs)));
      }
      metrics.drainClosed.inc(batch);
      this.opts.logger.info(
        { batch: i + 1, of: steps, closed: batch, remaining: left.length - batch },
        'draining: closed a batch with 1012',
      );
      if (i < steps - 1) await sleep(stepMs);
    }
  }
}
