import type { Publication } from '../broker/broker.js';

/**
 * How a publication looks on Redis: its pub/sub channel name, its key names and its bytes.
 * The RedisSequencer publishes from inside a Lua script, so the RedisBroker must subscribe to the
 * same channel and decode the same bytes: both use this module.
 */

/**
 * The topic as it appears inside a Redis hash tag. `{`, `}` and `%` are percent-escaped so a topic
 * such as `a}b` cannot end the tag early (which would scatter one topic's keys over several slots).
 */
export function topicTag(topic: string): string {
  // An empty tag `{}` would hash the whole key, scattering the keys: '%00' cannot come from escaping.
  if (topic === '') return '%00';
  return topic.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Pub/sub channel of a topic (`sb:{<topic>}`): PUBLISH on standalone Redis, SPUBLISH on Redis Cluster. */
export function topicChannel(topic: string): string {
  return `sb:{${topicTag(topic)}}`;
}

/** Redis keys of a topic's sequence; all share the channel's hash tag, hence one cluster slot. */
export function topicKeys(topic: string): { epoch: string; seq: string; hist: string; histBytes: string } {
  const tag = topicTag(topic);
  return {
    epoch: `sb:epoch:{${tag}}`,
    seq: `sb:seq:{${tag}}`,
    hist: `sb:hist:{${tag}}`,
    // Bytes held by `hist`, kept by the append script for the per-topic byte budget.
    histBytes: `sb:histbytes:{${tag}}`,
  };
}

/**
 * Encodes a publication as a JSON object (the bytes published on the channel). A `payloadJson` is
 * written verbatim as the last member, `"payload":<text>}`, with its length in `payloadLength`:
 * any JSON reader (a node of an older version included) sees an ordinary `payload`, and
 * `decodePublication` cuts the exact text back out instead of re-encoding a parsed value.
 */
export function encodePublication(pub: Publication): string {
  return encodeWithPayloadLast(pub);
}

/**
 * Encodes a publication without `epoch`/`offset`, for the Lua script that splices them in
 * (`{"epoch":..,"offset":..,` + the rest): the result is again `encodePublication` of the sequenced
 * publication, without Lua ever parsing the payload (cjson would turn `[]` into `{}`).
 */
export function encodeUnsequenced(pub: Publication): string {
  const { epoch: _e, offset: _o, ...rest } = pub;
  return encodeWithPayloadLast(rest);
}

function encodeWithPayloadLast(pub: Publication): string {
  const { payloadJson, payload: _p, ...rest } = pub;
  if (payloadJson === undefined) return JSON.stringify(pub);
  const head = JSON.stringify({ ...rest, payloadLength: payloadJson.length });
  return `${head.slice(0, -1)},${PAYLOAD_MEMBER}${payloadJson}}`;
}

const PAYLOAD_MEMBER = '"payload":';

/** Thrown by `decodePublication` for bytes that are not a publication. */
export class PublicationDecodeError extends Error {
  readonly code = 'ERR_PUBLICATION_DECODE';
}

/** Parses and checks the bytes `encodePublication` produced. Throws `PublicationDecodeError`. */
export function decodePublication(data: string | Buffer): Publication {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PublicationDecodeError(`publication is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PublicationDecodeError('publication is not a JSON object');
  }
  const v = value as Record<string, unknown>;
  if (typeof v.topic !== 'string') throw bad('topic', 'a string');
  if (typeof v.event !== 'string') throw bad('event', 'a string');
  if (typeof v.origin !== 'string') throw bad('origin', 'a string');
  if (typeof v.publishedAt !== 'number') throw bad('publishedAt', 'a number');
  if (v.epoch !== undefined && typeof v.epoch !== 'string') throw bad('epoch', 'a string');
  if (v.offset !== undefined && !Number.isSafeInteger(v.offset)) throw bad('offset', 'an integer');
  if (v.traceparent !== undefined && typeof v.traceparent !== 'string') throw bad('traceparent', 'a string');
  if (v.except !== undefined && typeof v.except !== 'string') throw bad('except', 'a string');
  if (v.binary !== undefined && typeof v.binary !== 'boolean') throw bad('binary', 'a boolean');
  if (v.binary === true && typeof v.payload !== 'string') throw bad('payload', 'base64 text when binary');
  const pub: Publication = { topic: v.topic, event: v.event, origin: v.origin, publishedAt: v.publishedAt };
  if (v.payloadLength !== undefined) pub.payloadJson = verbatimPayload(text, v.payloadLength);
  else pub.payload = v.payload;
  if (v.epoch !== undefined) pub.epoch = v.epoch as string;
  if (v.offset !== undefined) pub.offset = v.offset as number;
  if (v.traceparent !== undefined) pub.traceparent = v.traceparent as string;
  if (v.binary === true) pub.binary = true;
  if (v.except !== undefined) pub.except = v.except as string;
  return pub;
}

// At module level: a closure made per decode costs more than the checks (a recovery decodes each missed message).
function bad(field: string, want: string): PublicationDecodeError {
  return new PublicationDecodeError(`publication field "${field}" must be ${want}`);
}

/** The payload text `encodePublication` wrote last, `payloadLength` characters before the final `}`. */
function verbatimPayload(text: string, length: unknown): string {
  const start = text.length - 1 - Number(length);
  if (
    !Number.isSafeInteger(length) ||
    start < PAYLOAD_MEMBER.length ||
    !text.endsWith('}') ||
    text.slice(start - PAYLOAD_MEMBER.length, start) !== PAYLOAD_MEMBER
  ) {
    throw new PublicationDecodeError('publication field "payloadLength" does not match its payload');
  }
  return text.slice(start, -1);
}
