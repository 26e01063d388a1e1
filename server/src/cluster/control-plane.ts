import { randomUUID } from 'node:crypto';
import type { Broker, Publication } from '../broker/broker.js';
import type { Logger } from '../telemetry/logger.js';
import {
  CENSUS_MAX_TOPICS,
  CONTROL_TOPIC,
  parseControlMessage,
  type ControlMessage,
} from './control-messages.js';

/** What this node does when a control message reaches it. */
export interface LocalControl {
  /** Closes every connection of `sub` here; returns how many. */
  disconnectUser(sub: string): number;
  /** Takes `sub` out of `topic` here (phx_close); returns how many channels. */
  unsubscribeUser(sub: string, topic: string): number;
  /** Local subscribers per topic. */
  topicCounts(): Iterable<[string, number]>;
  subscriberCount(topic: string): number;
  /** Open connections here (said with every hello: the rebalancer compares them). */
  connectionCount(): number;
}

export interface ControlPlaneOptions {
  nodeId: string;
  broker: Broker;
  local: LocalControl;
  logger: Logger;
  /** How often a node says it is alive; a node silent for 3 intervals is no longer expected to answer. Default 2000 ms. */
  helloIntervalMs?: number;
  /** How long a census waits for the nodes it expects. Default 1000 ms. */
  censusTimeoutMs?: number;
}

/** Subscriber counts summed over the nodes that answered. */
export interface Census {
  counts: Map<string, number>;
  /** Nodes that answered (this one included). */
  nodes: number;
  /** False when a node known to be alive did not answer in time, or a node left topics out. */
  complete: boolean;
}

interface PendingCensus {
  counts: Map<string, number>;
  waitingFor: Set<string>;
  answered: number;
  truncated: boolean;
  finish: () => void;
}

/**
 * The cluster as the control API sees it: commands (disconnect a user, unsubscribe a user from a
 * topic) reach every node through the broker, and a census asks every node for its subscriber
 * counts. Nodes know each other from `hello` messages, so a census waits for exactly the nodes
 * alive; one that does not answer within censusTimeoutMs makes the result `complete: false`.
 * Delivery is the broker's: at-most-once, so a node cut off from Redis misses a command.
 */
export class ControlPlane {
  /** Other nodes: when last heard from, and their connections as their last hello said. */
  private readonly peers = new Map<string, { at: number; connections?: number }>();
  private readonly pending = new Map<string, PendingCensus>();
  private readonly helloMs: number;
  private readonly censusMs: number;
  private helloTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ControlPlaneOptions) {
    this.helloMs = opts.helloIntervalMs ?? 2000;
    this.censusMs = opts.censusTimeoutMs ?? 1000;
  }

  async start(): Promise<void> {
    await this.opts.broker.subscribe(CONTROL_TOPIC);
    const hello = () => this.sendHello().catch(() => undefined);
    this.helloTimer = setInterval(hello, this.helloMs);
    this.helloTimer.unref();
    await hello();
  }

  async close(): Promise<void> {
    clearInterval(this.helloTimer);
    for (const p of this.pending.values()) p.finish();
    await this.send({ kind: 'bye', node: this.opts.nodeId }).catch(() => undefined);
  }

  /** Other nodes heard from within 3 hello intervals. */
  peersAlive(now = Date.now()): string[] {
    const alive: string[] = [];
    for (const [node, { at }] of this.peers) {
      if (now - at <= 3 * this.helloMs) alive.push(node);
      else this.peers.delete(node);
    }
    return alive;
  }

  /** Connections of the other nodes alive that said how many they hold. */
  peerConnections(now = Date.now()): number[] {
    const alive = new Set(this.peersAlive(now));
    const counts: number[] = [];
    for (const [node, { connections }] of this.peers) {
      if (alive.has(node) && connections !== undefined) counts.push(connections);
    }
    return counts;
  }

  /** Closes every connection of `sub` on every node. Rejects when the broker could not carry it. */
  async disconnectUser(sub: string): Promise<number> {
    const here = this.opts.local.disconnectUser(sub);
    await this.send({ kind: 'disconnect', sub });
    return here;
  }

  /** Takes `sub` out of `topic` on every node. Rejects when the broker could not carry it. */
  async unsubscribeUser(sub: string, topic: string): Promise<number> {
    const here = this.opts.local.unsubscribeUser(sub, topic);
    await this.send({ kind: 'unsubscribe', sub, topic });
    return here;
  }

  /** Subscriber counts of `topic`, or of every topic starting with `prefix` (all when ''), over the cluster. */
  async census(query: { topic: string } | { prefix: string }): Promise<Census> {
    const own = this.localCounts(query);
    const id = randomUUID();
    const waitingFor = new Set(this.peersAlive());
    return new Promise<Census>((resolve, reject) => {
      const entry: PendingCensus = {
        counts: new Map(),
        waitingFor,
        answered: 1,
        truncated: own.truncated,
        finish: () => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve({
            counts: entry.counts,
            nodes: entry.answered,
            complete: entry.waitingFor.size === 0 && !entry.truncated,
          });
        },
      };
      add(entry.counts, own.counts);
      const timer = setTimeout(() => entry.finish(), this.censusMs);
      this.pending.set(id, entry);
      if (waitingFor.size === 0) return entry.finish();
      this.send({ kind: 'census', id, from: this.opts.nodeId, ...query }).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err as Error);
      });
    });
  }

  /** A publication on CONTROL_TOPIC from the broker. */
  receive(pub: Publication): void {
    if (pub.origin === this.opts.nodeId || typeof pub.payloadJson !== 'string') return;
    const msg = parseControlMessage(pub.payloadJson);
    if (!msg) {
      this.opts.logger.warn({ origin: pub.origin }, 'control: malformed message dropped');
      return;
    }
    this.handle(msg);
  }

  private handle(msg: ControlMessage): void {
    const { local, nodeId } = this.opts;
    switch (msg.kind) {
      case 'hello':
        // A newcomer learns of this node at once rather than at the next interval.
        if (!this.peers.has(msg.node)) this.sendHello().catch(() => undefined);
        this.peers.set(msg.node, { at: Date.now(), connections: msg.connections });
        return;
      case 'bye':
        this.peers.delete(msg.node);
        for (const p of this.pending.values()) this.answeredBy(p, msg.node);
        return;
      case 'disconnect':
        local.disconnectUser(msg.sub);
        return;
      case 'unsubscribe':
        local.unsubscribeUser(msg.sub, msg.topic);
        return;
      case 'census': {
        this.peers.set(msg.from, { ...this.peers.get(msg.from), at: Date.now() });
        const query = msg.topic !== undefined ? { topic: msg.topic } : { prefix: msg.prefix ?? '' };
        const { counts, truncated } = this.localCounts(query);
        this.send({ kind: 'census-answer', id: msg.id, to: msg.from, node: nodeId, counts, truncated }).catch(
          (err: unknown) => this.opts.logger.warn({ err }, 'control: census answer not sent'),
        );
        return;
      }
      case 'census-answer': {
        const p = msg.to === nodeId ? this.pending.get(msg.id) : undefined;
        if (!p) return;
        add(p.counts, msg.counts);
        p.answered++;
        p.truncated ||= msg.truncated;
        this.answeredBy(p, msg.node);
        return;
      }
    }
  }

  private answeredBy(p: PendingCensus, node: string): void {
    p.waitingFor.delete(node);
    if (p.waitingFor.size === 0) p.finish();
  }

  /** This node's counts for a census; at most CENSUS_MAX_TOPICS topics, busiest first. */
  private localCounts(query: { topic: string } | { prefix: string }): {
    counts: [string, number][];
    truncated: boolean;
  } {
    const { local } = this.opts;
    if ('topic' in query) {
      const n = local.subscriberCount(query.topic);
      return { counts: n > 0 ? [[query.topic, n]] : [], truncated: false };
    }
    const counts = [...local.topicCounts()].filter(([t]) => t.startsWith(query.prefix));
    if (counts.length <= CENSUS_MAX_TOPICS) return { counts, truncated: false };
    counts.sort((a, b) => b[1] - a[1]);
    return { counts: counts.slice(0, CENSUS_MAX_TOPICS), truncated: true };
  }

  private sendHello(): Promise<void> {
    const { nodeId, local } = this.opts;
    return this.send({ kind: 'hello', node: nodeId, connections: local.connectionCount() });
  }

  private send(msg: ControlMessage): Promise<void> {
    return this.opts.broker.publish({
      topic: CONTROL_TOPIC,
      event: msg.kind,
      payloadJson: JSON.stringify(msg),
      origin: this.opts.nodeId,
      publishedAt: Date.now(),
    });
  }
}

function add(into: Map<string, number>, counts: Iterable<[string, number]>): void {
  for (const [topic, n] of counts) into.set(topic, (into.get(topic) ?? 0) + n);
}
