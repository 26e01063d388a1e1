import type { Broker, Publication } from '../broker/broker.js';
import { RESERVED_TOPIC_PREFIX } from '../protocol/message.js';
import type { Logger } from '../telemetry/logger.js';

/** The prefix of every node's own relay topic (reserved: no client can join or publish to it). */
export const RELAY_TOPIC_PREFIX = `${RESERVED_TOPIC_PREFIX}node:`;

/** The topic on which `nodeId` receives messages addressed to it. */
export function relayTopic(nodeId: string): string {
  return RELAY_TOPIC_PREFIX + nodeId;
}

/** A message between two nodes: `kind` picks the handler on the receiving node. */
export interface RelayMessage {
  kind: string;
  /** The sending node, so the receiver can answer. */
  from: string;
  [field: string]: unknown;
}

/**
 * Point-to-point messages between nodes over the broker: every node subscribes to its own reserved
 * topic and others publish there. Used by the LongPoll transport to reach a session that lives on
 * another node. Delivery is the broker's: at-most-once, in order within one sender; a message to
 * a node that is gone is simply not delivered, so callers bound every wait with a timeout.
 */
export class NodeRelay {
  readonly topic: string;
  private readonly handlers = new Map<string, (msg: RelayMessage) => void>();

  constructor(
    private readonly nodeId: string,
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {
    this.topic = relayTopic(nodeId);
  }

  async start(): Promise<void> {
    await this.broker.subscribe(this.topic);
  }

  /** Registers the handler of messages of `kind` (one per kind). */
  on(kind: string, handler: (msg: RelayMessage) => void): void {
    this.handlers.set(kind, handler);
  }

  /** Publishes `msg` (with `from` set to this node) to `nodeId`'s relay topic. */
  send(nodeId: string, msg: { kind: string; [field: string]: unknown }): Promise<void> {
    const full: RelayMessage = { ...msg, from: this.nodeId };
    return this.broker.publish({
      topic: relayTopic(nodeId),
      event: full.kind,
      payloadJson: JSON.stringify(full),
      origin: this.nodeId,
      publishedAt: Date.now(),
    });
  }

  /** A publication on this node's relay topic. */
  receive(pub: Publication): void {
    if (pub.origin === this.nodeId || typeof pub.payloadJson !== 'string') return;
    let msg: RelayMessage;
    try {
      msg = JSON.parse(pub.payloadJson) as RelayMessage;
    } catch {
      msg = { kind: '', from: '' };
    }
    const handler =
      typeof msg === 'object' && msg !== null && typeof msg.kind === 'string' && typeof msg.from === 'string'
        ? this.handlers.get(msg.kind)
        : undefined;
    if (!handler) {
      this.logger.warn({ origin: pub.origin }, 'relay: malformed or unknown message dropped');
      return;
    }
    try {
      handler(msg);
    } catch (err) {
      this.logger.error({ err, kind: msg.kind }, 'relay: handler failed');
    }
  }
}
