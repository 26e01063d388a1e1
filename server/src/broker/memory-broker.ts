import type { Broker, Publication } from './broker.js';

/**
 * In-process "network" shared by MemoryBroker instances. One process normally has one node and
 * one private bus; tests pass the same bus to several brokers to run "two nodes" in one process.
 */
export class MemoryBus {
  /** topic -> brokers subscribed to it. */
  readonly subscriptions = new Map<string, Set<MemoryBroker>>();
}

export interface MemoryBrokerOptions {
  nodeId: string;
  /** Defaults to a private bus (single node). */
  bus?: MemoryBus;
}

/**
 * Broker for a single process. Same guarantee as the interface (at-most-once); delivery is
 * asynchronous (a microtask) like a network broker, and each node gets its own copy of the
 * publication. The publishing broker is not sent its own publication.
 */
export class MemoryBroker implements Broker {
  readonly nodeId: string;
  private readonly bus: MemoryBus;
  /** A private bus has no other broker to deliver to: its topics need no entry there. */
  private readonly shared: boolean;
  private readonly topics = new Set<string>();
  private readonly listeners: ((pub: Publication) => void)[] = [];
  private readonly connectionListeners: ((connected: boolean) => void)[] = [];
  private connected = false;

  constructor(opts: MemoryBrokerOptions) {
    this.nodeId = opts.nodeId;
    this.bus = opts.bus ?? new MemoryBus();
    this.shared = opts.bus !== undefined;
  }

  async start(): Promise<void> {
    if (this.connected) return;
    this.connected = true;
    for (const l of this.connectionListeners) l(true);
  }

  async publish(pub: Publication): Promise<void> {
    if (!this.connected) throw new Error('MemoryBroker.publish before start() or after close()');
    const subscribers = this.bus.subscriptions.get(pub.topic);
    if (!subscribers) return;
    for (const broker of subscribers) {
      if (broker === this) continue;
      const copy = structuredClone(pub);
      queueMicrotask(() => broker.deliver(copy));
    }
  }

  async subscribe(topic: string): Promise<void> {
    if (this.topics.has(topic)) return;
    this.topics.add(topic);
    // A Set per topic costs about 150 bytes; a single node's idle topics add up (issue 14).
    if (!this.shared) return;
    let set = this.bus.subscriptions.get(topic);
    if (!set) this.bus.subscriptions.set(topic, (set = new Set()));
    set.add(this);
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.topics.delete(topic)) return;
    const set = this.bus.subscriptions.get(topic);
    set?.delete(this);
    if (set?.size === 0) this.bus.subscriptions.delete(topic);
  }

  onPublication(listener: (pub: Publication) => void): void {
    this.listeners.push(listener);
  }

  onConnectionChange(listener: (connected: boolean) => void): void {
    this.connectionListeners.push(listener);
  }

  isConnected(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    for (const topic of [...this.topics]) await this.unsubscribe(topic);
    if (!this.connected) return;
    this.connected = false;
    for (const l of this.connectionListeners) l(false);
  }

  private deliver(pub: Publication): void {
    if (!this.connected || !this.topics.has(pub.topic)) return;
    for (const l of this.listeners) l(pub);
  }
}
