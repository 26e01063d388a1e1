import { ProtocolError, type ProtocolErrorCode } from './errors.js';
import { MAX_PAYLOAD_DEPTH, exceedsJsonDepth } from './json-depth.js';
import { MAX_FIELD_BYTES, ChannelEvent, type JsonInboundMessage } from './message.js';

/**
 * Phoenix V2 JSON serializer: text frames are `[join_ref, ref, topic, event, payload]`.
 * Pure functions, no I/O. Encoders take the payload as JSON text so that a broadcast is
 * serialised once and the same string (then the same frame bytes) goes to every subscriber.
 */

/**
 * Parses a frame's JSON text after checking its depth on the text, whatever its spelling: the
 * frame (array or object) is one level, the payload the rest. Shared by the V2 and V1 decoders.
 */
export function parseFrameJson(text: string): unknown {
  if (exceedsJsonDepth(text, MAX_PAYLOAD_DEPTH + 1)) {
    throw new ProtocolError('invalid_payload', `payload is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError('invalid_json', 'frame is not valid JSON');
  }
}

/** Decodes and strictly validates one text frame. Throws `ProtocolError` (with a stable `code`). */
export function decodeText(text: string): JsonInboundMessage {
  const parsed = parseFrameJson(text);
  if (!Array.isArray(parsed)) {
    throw new ProtocolError('not_array', 'frame must be a JSON array [join_ref, ref, topic, event, payload]');
  }
  if (parsed.length !== 5) {
    throw new ProtocolError('wrong_length', `frame must have 5 elements, got ${parsed.length}`);
  }
  const [joinRef, ref, topic, event, payload] = parsed as [unknown, unknown, unknown, unknown, unknown];
  checkRef(joinRef, 'invalid_join_ref', 'join_ref');
  checkRef(ref, 'invalid_ref', 'ref');
  checkName(topic, 'invalid_topic', 'topic');
  checkName(event, 'invalid_event', 'event');
  return {
    binary: false,
    joinRef,
    ref,
    topic,
    event,
    payload,
    payloadJson: verbatimPayload(text, joinRef, ref, topic, event) ?? reencodePayload(payload),
  };
}

/** The payload's JSON text, written again from its parsed value. */
export function reencodePayload(payload: unknown): string {
  try {
    return JSON.stringify(payload);
  } catch {
    // Unreachable within MAX_PAYLOAD_DEPTH; kept so a bug here is a 1007, not a crash.
    throw new ProtocolError('invalid_payload', 'payload cannot be re-encoded');
  }
}

/** `join_ref`/`ref`: a string of at most 255 bytes, or null. */
export function checkRef(v: unknown, code: ProtocolErrorCode, name: string): asserts v is string | null {
  if (v === null) return;
  if (typeof v !== 'string') throw new ProtocolError(code, `${name} must be a string or null`);
  checkLength(v, name);
}

/** `topic`/`event`: a non-empty string of at most 255 bytes. */
export function checkName(v: unknown, code: ProtocolErrorCode, name: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new ProtocolError(code, `${name} must be a non-empty string`);
  }
  checkLength(v, name);
}

/** Fields are at most 255 bytes, the limit of the binary format, so both formats accept the same messages. */
export function checkLength(v: string, name: string): void {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (v.length > MAX_FIELD_BYTES / 3 && Buffer.byteLength(v) > MAX_FIELD_BYTES) {
    throw new ProtocolError('field_too_long', `${name} must be at most ${MAX_FIELD_BYTES} bytes`);
  }
}

/**
 * The payload's JSON text cut from the frame, when the frame starts exactly as we would encode
 * its first four fields (what JSON.stringify in the official client produces). Saves a
 * JSON.stringify per publish; any other spelling falls back to re-encoding.
 */
function verbatimPayload(
  text: string,
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
): string | undefined {
  const prefix = `[${jsonRef(joinRef)},${jsonRef(ref)},${JSON.stringify(topic)},${JSON.stringify(event)},`;
  if (!text.startsWith(prefix)) return undefined;
  const end = text.lastIndexOf(']');
  const payload = text.slice(prefix.length, end).trim();
  return payload.length > 0 ? payload : undefined;
}

function jsonRef(ref: string | null): string {
  return ref === null ? 'null' : JSON.stringify(ref);
}

/** `[join_ref, ref, topic, event, payload]` with the payload already JSON-encoded. */
export function encodeMessage(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payloadJson: string,
): string {
  return `[${jsonRef(joinRef)},${jsonRef(ref)},${JSON.stringify(topic)},${JSON.stringify(event)},${payloadJson}]`;
}

/** A reply to the client message `ref`: `{"status": status, "response": response}`. */
export function encodeReply(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  status: 'ok' | 'error',
  responseJson = '{}',
): string {
  return encodeMessage(joinRef, ref, topic, ChannelEvent.reply, replyPayloadJson(status, responseJson));
}

/** The payload of every `phx_reply`, whatever the serializer: `{"status": status, "response": response}`. */
export function replyPayloadJson(status: 'ok' | 'error', responseJson: string): string {
  return `{"status":"${status}","response":${responseJson}}`;
}

/** The `response` of an error reply: `{"reason": reason}`, the shape the official client and Phoenix use. */
export function errorResponseJson(reason: string): string {
  return `{"reason":${JSON.stringify(reason)}}`;
}

/** An error reply with `{"reason": reason}`, the shape the official client and Phoenix use. */
export function encodeErrorReply(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  reason: string,
): string {
  return encodeReply(joinRef, ref, topic, 'error', errorResponseJson(reason));
}

/** A push to one client's channel (join_ref set, ref null). */
export function encodePush(joinRef: string, topic: string, event: string, payloadJson: string): string {
  return encodeMessage(joinRef, null, topic, event, payloadJson);
}

/** A broadcast (join_ref and ref null): identical for every subscriber, so encoded once. */
export function encodeBroadcast(topic: string, event: string, payloadJson: string): string {
  return encodeMessage(null, null, topic, event, payloadJson);
}
