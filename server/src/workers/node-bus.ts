import type { Broker, Publication } from '../broker/broker.js';
import { encodePublication } from '../store/publication-codec.js';
import type { Logger } from '../telemetry/logger.js';

/** A worker as the primary's services see it: an id and a one-way message. */
export interface WorkerPort {
  readonly id: number;
  notify(op: string, ...args: unknown[]): void;
}

/**
 * Fan-out between the workers of one pod (WORKERS>1), in the primary. Keeps which worker wants
 * which topic, subscribes the pod's one real broker to the union, and hands each publication to
 * every interested worker encoded once. The real broker (memory or Redis) sees the pod as one node.
 */
export class NodeBus {
  /** topic -> workers subscribed; bounded by the workers' own subscriptions. */
  private readonly subscribers = new Map<string, Set<WorkerPort>>();
  private readonly workerOrigin: RegExp;

  constructor(
    private readonly broker: Broker,
    nodeId: string,
    private readonly logger: Logger,
  ) {
    // Workers publish as `<NODE_ID>-w<n>` (workerNodeId): their unsequenced publications that Redis
    // sends back to this pod were handed to its workers already.
    this.workerOrigin = new RegExp(`^${nodeId.replace(/[.]/g, '\\.')}-w\\d+$`);
    broker.onPublication((pub) => {
      if (pub.offset === undefined && this.workerOrigin.test(pub.origin)) return;
      this.fanOut(pub);
    });
  }

  async subscribe(worker: WorkerPort, topic: string): Promise<void> {
    let set = this.subscribers.get(topic);
    if (!set) this.subscribers.set(topic, (set = new Set()));
    set.add(worker);
    try {
      await this.broker.subscribe(topic);
    } catch (err) {
      // The worker's join fails and it may try again: it holds no subscription.
      await this.unsubscribe(worker, topic);
      throw err;
    }
  }

  async unsubscribe(worker: WorkerPort, topic: string): Promise<void> {
    const set = this.subscribers.get(topic);
    if (!set?.delete(worker) || set.size > 0) return;
    this.subscribers.delete(topic);
    await this.broker.unsubscribe(topic);
  }

  /** A worker's unsequenced publication (control plane, node relay): the others, then other pods. */
  publishFrom(worker: WorkerPort, pub: Publication): void {
    this.fanOut(pub, worker);
    this.broker.publish(pub).catch((err: unknown) => {
      this.logger.warn({ err, topic: pub.topic }, 'workers: broker publish failed');
    });
  }

  /** Hands `pub` to every worker subscribed to its topic but `except`. */
  fanOut(pub: Publication, except?: WorkerPort): void {
    const set = this.subscribers.get(pub.topic);
    if (!set) return;
    let data: string | undefined;
    for (const worker of set) {
      if (worker === except) continue;
      data ??= encodePublication(pub);
      worker.notify('pub', data);
    }
  }

  /** A worker exited: its topics are given up (the real broker's too when no other worker has them). */
  async drop(worker: WorkerPort): Promise<void> {
    for (const [topic, set] of [...this.subscribers]) {
      if (set.has(worker)) await this.unsubscribe(worker, topic).catch(() => undefined);
    }
  }
}
