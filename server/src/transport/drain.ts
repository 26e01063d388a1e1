import { setTimeout as sleep } from 'node:timers/promises';
import { CloseCode } from '../protocol/close-codes.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';

/** A connection the drainer can close. */
export interface DrainableSession {
  readonly isClosing: boolean;
  close(code: typeof CloseCode.serviceRestart): void;
  terminate(): void;
}

/** The node being drained. */
export interface DrainTarget {
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
}

/**
 * Graceful drain for deploys (SIGTERM): readiness goes 503 so the load balancer stops sending new
 * clients, new upgrades get 503, and open connections are closed with 1012 (service restart) in
 * paced batches spread over the window -- like Phoenix's drainer -- so that reconnecting clients
 * do not stampede the remaining replicas. Batches run every window/10 (at most every 2 s).
 */
export class Drainer {
  private running: Promise<void> | null = null;

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

  private async run(): Promise<void> {
    const { windowMs, logger } = this.opts;
    const sessions = this.target.sessions;
    this.target.startDraining();
    metrics.draining.set(1);
    const stepMs = Math.min(2000, Math.floor(windowMs / 10));
    const steps = stepMs > 0 ? Math.max(1, Math.floor(windowMs / stepMs)) : 1;
    logger.info({ connections: sessions.size, windowMs, steps }, 'draining');
    for (let i = 0; i < steps; i++) {
      const open = [...sessions].filter((s) => !s.isClosing);
      metrics.drainRemaining.set(open.length);
      if (open.length === 0) break;
      const batch = Math.ceil(open.length / (steps - i));
      for (let j = 0; j < batch; j++) open[j]!.close(CloseCode.serviceRestart);
      logger.info(
        { batch: i + 1, of: steps, closed: batch, remaining: open.length - batch },
        'draining: closed a batch with 1012',
      );
      if (i < steps - 1) await sleep(stepMs);
    }
    const deadline = Date.now() + (this.opts.graceMs ?? 5000);
    while (sessions.size > 0 && Date.now() < deadline) await sleep(25);
    if (sessions.size > 0)
      logger.warn({ connections: sessions.size }, 'drain grace over: cutting connections');
    for (const s of sessions) s.terminate();
    metrics.drainRemaining.set(0);
    logger.info('drained');
  }
}
