/**
 * A decoded client frame. `join_ref`/`ref` are strings or null exactly as on the wire;
 * the payload is either parsed JSON (text frames) or raw bytes (binary frames).
 */
export type InboundMessage = JsonInboundMessage | BinaryInboundMessage;

interface InboundHeader {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
}

export interface JsonInboundMessage extends InboundHeader {
  binary: false;
  payload: unknown;
  /** The payload's JSON text, taken verbatim from the frame when possible (saves re-encoding it). */
  payloadJson: string;
}

export interface BinaryInboundMessage extends InboundHeader {
  binary: true;
  payload: Buffer;
}

/** Events the protocol reserves: clients may not push them as their own events. */
export const ChannelEvent = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  close: 'phx_close',
  error: 'phx_error',
  heartbeat: 'heartbeat',
  presenceState: 'presence_state',
  presenceDiff: 'presence_diff',
} as const;

/** The topic of socket-level messages (heartbeats). */
export const PHOENIX_TOPIC = 'phoenix';

/** Largest topic, event or ref in bytes (the binary format stores lengths in one byte). */
export const MAX_FIELD_BYTES = 255;

/** Topics starting with this are the server's own (the control channel between nodes). */
export const RESERVED_TOPIC_PREFIX = '$sb:';

/** True for topics no client may join and the publish API refuses (RESERVED_TOPIC_PREFIX). */
export function isReservedTopic(topic: string): boolean {
  return topic.startsWith(RESERVED_TOPIC_PREFIX);
}

/** True for events only the server may send (`phx_*`, `presence_*`). */
export function isReservedEvent(event: string): boolean {
  return event.startsWith('phx_') || event.startsWith('presence_');
}
