/**
 * A message published on a topic, as it travels between nodes.
 * A JSON payload travels as `payloadJson`, the publisher's text verbatim: live subscribers,
 * recovery and the history API all send those bytes, never a re-encoding of a parsed value
 * (which would turn `1e400` into `null`). `payload` (a parsed value) is accepted too.
 */
export interface Publication {
  topic: string;
  event: string;
  /** The payload as a value (when `payloadJson` is not set), or the base64 text of a binary payload. */
  payload?: unknown;
  /** The JSON payload's text exactly as published; wins over `payload`. */
  payloadJson?: string;
  /**
   * Set when the payload is binary: `payload` is then the base64 text of the bytes (JSON-safe, so
   * every broker carries it unchanged) and subscribers receive a binary broadcast frame.
   */
  binary?: boolean;
  /** Id of the node that accepted the publish; a node ignores its own publications coming back. */
  origin: string;
  /** Unix ms at which the publishing node accepted it: the start of publish-to-delivery latency. */
  publishedAt: number;
  /** History position, when the topic keeps history (see the store). */
  epoch?: string;
  offset?: number;
  /**
   * broadcast_from: the id of the connection (`<nodeId>#<n>`) that must not get this publication.
   * Every node delivers to all its subscribers but that one (only its node has it).
   */
  except?: string;
  /** W3C trace context of the publish span, so one trace spans nodes. */
  traceparent?: string;
}

/**
 * Fan-out between replicas.
 *
 * Guarantee: at-most-once and unordered across reconnects (Redis pub/sub drops what is published
 * while a node is disconnected). Recovery therefore relies on offsets in the history store, never
 * on the broker. A node subscribes only to topics that have local subscribers.
 */
export interface Broker {
  /** Connects; resolves when publications can flow. */
  start(): Promise<void>;
  /** Sends to every node subscribed to `pub.topic`, including (for simplicity) possibly this one. */
  publish(pub: Publication): Promise<void>;
  /** Called when the first local subscriber joins `topic`. Idempotent. */
  subscribe(topic: string): Promise<void>;
  /** Called when the last local subscriber leaves `topic`. Idempotent. */
  unsubscribe(topic: string): Promise<void>;
  /** Registers the listener for publications from other nodes. */
  onPublication(listener: (pub: Publication) => void): void;
  /** Registers a listener told when the connection to the broker is lost or regained. */
  onConnectionChange(listener: (connected: boolean) => void): void;
  /** True while publications can flow (readiness). */
  isConnected(): boolean;
  close(): Promise<void>;
}

/**
 * The JSON text subscribers get for `pub`: its verbatim `payloadJson`, else `payload` encoded.
 * Throws (TypeError/RangeError) only for a `payload` JSON cannot encode.
 */
export function payloadJsonOf(pub: Publication): string {
  return pub.payloadJson ?? JSON.stringify(pub.payload ?? null);
}
