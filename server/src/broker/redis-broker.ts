import { decodePublication, encodePublication, topicChannel } from '../store/publication-codec.js';
import { metrics } from '../telemetry/metrics.js';
import type { Broker, Publication } from './broker.js';
import { RedisLink, type RedisLogger, type RedisTarget } from './redis-connection.js';

/** Options of `RedisBroker`. */
export interface RedisBrokerOptions {
  /** This node's id: publications carrying it as `origin` and no offset are not delivered back here. */
  nodeId: string;
  redis: RedisTarget;
  logger?: RedisLogger;
  /** Bound on one PUBLISH/SUBSCRIBE round trip. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** `start()` fails after this long without Redis. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Liveness probe period of every shard. Default 1000 ms. */
  healthCheckIntervalMs?: number;
}

/**
 * Fan-out between nodes over Redis pub/sub.
 *
 * One channel per topic, `sb:{<topic>}` (see `topicChannel`): the hash tag puts a topic's channel
 * in one cluster slot, so on Redis Cluster it is an SPUBLISH/SSUBSCRIBE shard channel and each
 * publication travels only to the shard that owns the topic. On standalone Redis the same channel
 * is used with PUBLISH/SUBSCRIBE. The bytes are `encodePublication` JSON, the same the
 * RedisSequencer publishes from its script, so publications sequenced there arrive here too.
 *
 * Guarantee: at-most-once. Whatever is published while a subscriber node is disconnected is lost
 * for it; after a reconnect the subscriptions are restored, and clients recover the gap from history.
 * Within one connection Redis keeps order, so a burst from one publisher arrives in order.
 */
export class RedisBroker implements Broker {
  readonly nodeId: string;
  private readonly link: RedisLink;
  private readonly topics = new Set<string>();
  private readonly listeners: ((pub: Publication) => void)[] = [];
  private readonly logger: RedisLogger | undefined;
  private lastDecodeLog = 0;

  constructor(opts: RedisBrokerOptions) {
    if (typeof opts.nodeId !== 'string' || opts.nodeId === '') {
      throw new Error('RedisBroker: nodeId must be a non-empty string (NODE_ID)');
    }
    this.nodeId = opts.nodeId;
    this.logger = opts.logger;
    this.link = new RedisLink({
      target: opts.redis,
      name: `sb-broker-${opts.nodeId}`,
      logger: opts.logger,
      commandTimeoutMs: opts.commandTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      healthCheckIntervalMs: opts.healthCheckIntervalMs,
    });
    this.link.onMessage((channel, message) => this.receive(channel, message));
    this.link.onConnectionChange((connected) => {
      if (!connected) metrics.brokerErrors.inc({ op: 'connection' });
    });
  }

  async start(): Promise<void> {
    await this.link.start();
  }

  /** Counted (latency, errors) by the caller, Node.publish, once per publication whatever the sequencer. */
  async publish(pub: Publication): Promise<void> {
    await this.link.publish(topicChannel(pub.topic), encodePublication(pub));
  }

  /**
   * Subscribes to the topic's channel; resolves once Redis confirmed. On rejection (Redis
   * unreachable or slow) nothing is subscribed: the caller may try again on the next join.
   */
  async subscribe(topic: string): Promise<void> {
    if (this.topics.has(topic)) return;
    this.topics.add(topic);
    try {
      await this.link.subscribe(topicChannel(topic));
    } catch (err) {
      metrics.brokerErrors.inc({ op: 'subscribe' });
      this.topics.delete(topic);
      // The SUBSCRIBE may still sit in the offline queue: queue its undo behind it.
      this.link.unsubscribe(topicChannel(topic)).catch(() => undefined);
      throw err;
    }
  }

  async unsubscribe(topic: string): Promise<void> {
    if (!this.topics.delete(topic)) return;
    try {
      await this.link.unsubscribe(topicChannel(topic));
    } catch (err) {
      metrics.brokerErrors.inc({ op: 'subscribe' });
      throw err;
    }
  }

  onPublication(listener: (pub: Publication) => void): void {
    this.listeners.push(listener);
  }

  onConnectionChange(listener: (connected: boolean) => void): void {
    this.link.onConnectionChange(listener);
  }

  isConnected(): boolean {
    return this.link.isConnected();
  }

  async close(): Promise<void> {
    this.topics.clear();
    await this.link.close();
  }

  private receive(channel: string, message: string): void {
    let pub: Publication;
    try {
      pub = decodePublication(message);
    } catch (err) {
      metrics.brokerErrors.inc({ op: 'decode' });
      const now = Date.now();
      if (now - this.lastDecodeLog > 10_000) {
        this.lastDecodeLog = now;
        this.logger?.warn({ err: (err as Error).message, channel }, 'broker: undecodable message dropped');
      }
      return;
    }
    // Own publications come back from Redis: those sent by `publish` were delivered locally
    // already, but those the history sequencer published (with an offset) are delivered only from
    // here, so every node delivers in offset order. A message that raced an unsubscribe is not wanted.
    const ownUnsequenced = pub.origin === this.nodeId && pub.offset === undefined;
    if (ownUnsequenced || !this.topics.has(pub.topic) || topicChannel(pub.topic) !== channel) {
      return;
    }
    for (const l of this.listeners) {
      try {
        l(pub);
      } catch (err) {
        this.logger?.error({ err: (err as Error).message }, 'broker: publication listener failed');
      }
    }
  }
}
