import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
import type { Drainer } from './drain.js';

export interface RebalancerOptions {
  /** How often this node compares itself with the others (REBALANCE_INTERVAL_MS). */
  intervalMs: number;
  /** Drain only above the mean by more than this share (REBALANCE_TOLERANCE_PERCENT / 100). */
  tolerance: number;
  /** The paced window of each share drain. */
  windowMs: number;
  /** This node's open connections. */
  own(): number;
  /** The other nodes' connections, from their hellos (cluster/control-plane.ts). */
  peers(): number[];
  drainer: Drainer;
  logger: Logger;
}

/**
 * What share (percent) of its connections a node holding `own` should move, given the others'
 * counts: its excess over the cluster mean, when that excess is above `tolerance` of the mean.
 * 0 when alone, balanced enough, or below the mean.
 */
export function rebalanceShare(own: number, peers: number[], tolerance: number): number {
  if (peers.length === 0 || own === 0) return 0;
  const mean = (own + peers.reduce((s, n) => s + n, 0)) / (peers.length + 1);
  const excess = own - mean;
  if (excess < 1 || own <= mean * (1 + tolerance)) return 0;
  return Math.min(100, Math.max(1, Math.ceil((excess / own) * 100)));
}

/**
 * After a scale-up the old pods keep every socket: a WebSocket stays where it connected. With
 * REBALANCE_INTERVAL_MS set, every node compares its connections with the others' (their hellos)
 * and drains its excess over the mean with a share drain (1012 + reconnect hint, paced, the node
 * stays ready). The load balancer spreads the reconnecting clients over all pods (this one
 * included), so the counts converge over a few rounds; recovery keeps the moved clients loss-free.
 */
export class Rebalancer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RebalancerOptions) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One comparison; returns the share drained (0: none). */
  tick(): number {
    const { drainer, logger } = this.opts;
    if (drainer.started) return 0;
    const own = this.opts.own();
    const peers = this.opts.peers();
    const percent = rebalanceShare(own, peers, this.opts.tolerance);
    if (percent === 0) return 0;
    const started = drainer.drainShare(percent, this.opts.windowMs);
    if (typeof started === 'string') return 0;
    metrics.rebalances.inc();
    logger.info(
      { own, peers, percent, closing: started.closing, windowMs: started.windowMs },
      'rebalance: moving connections above the cluster mean',
    );
    return percent;
  }
}
