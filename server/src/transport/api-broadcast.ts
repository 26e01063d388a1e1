import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_PAYLOAD_DEPTH, exceedsJsonDepth } from '../protocol/json-depth.js';
import {
  MAX_FIELD_BYTES,
  RESERVED_TOPIC_PREFIX,
  isReservedEvent,
  isReservedTopic,
} from '../protocol/message.js';
import { HttpError, readBody, sendJson } from './http-util.js';

export interface BroadcastRequest {
  topic: string;
  event: string;
  payload: unknown;
}

/**
 * `POST /api/broadcast` with `Authorization: Bearer <API_TOKEN>` and a JSON body
 * `{ "topic": "room:lobby", "event": "new_msg", "payload": {...} }` (payload optional, default {}).
 * 202 once accepted (delivery is asynchronous, at-most-once), 400/401/413 otherwise; with the
 * publish hook, 403 when the backend refuses and 503 when it gives no usable answer.
 */
export async function handleApiBroadcast(
  req: IncomingMessage,
  res: ServerResponse,
  deps: {
    apiToken: string;
    maxBodyBytes: number;
    /** Publishes (after the publish hook, if any): what was published, or throws HttpError. */
    publish: (b: BroadcastRequest) => Promise<BroadcastRequest>;
  },
): Promise<void> {
  if (!isAuthorized(req.headers.authorization, deps.apiToken)) {
    throw new HttpError(401, 'missing or wrong bearer token: send "Authorization: Bearer <API_TOKEN>"');
  }
  const body = await readBody(req, deps.maxBodyBytes);
  const text = body.toString('utf8');
  // The body object is one level, the payload the rest (as in a client frame).
  if (exceedsJsonDepth(text, MAX_PAYLOAD_DEPTH + 1)) {
    throw new HttpError(400, `"payload" is nested deeper than ${MAX_PAYLOAD_DEPTH} levels: flatten it`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(
      400,
      'body is not valid JSON: send {"topic": "...", "event": "...", "payload": {...}}',
    );
  }
  const b = await deps.publish(parseBroadcast(parsed));
  sendJson(res, 202, { status: 'accepted', topic: b.topic, event: b.event });
}

/** Validates a broadcast body; throws HttpError(400) naming the field and the fix. */
export function parseBroadcast(v: unknown): BroadcastRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HttpError(400, 'body must be a JSON object {"topic": "...", "event": "...", "payload": {...}}');
  }
  const { topic, event, payload } = v as Record<string, unknown>;
  for (const [name, value] of [
    ['topic', topic],
    ['event', event],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > MAX_FIELD_BYTES) {
      throw new HttpError(400, `"${name}" must be a non-empty string of at most ${MAX_FIELD_BYTES} bytes`);
    }
  }
  if (isReservedTopic(topic as string)) {
    throw new HttpError(
      400,
      `"topic" must not start with "${RESERVED_TOPIC_PREFIX}" (reserved by the server)`,
    );
  }
  if (isReservedEvent(event as string)) {
    throw new HttpError(400, '"event" must not start with "phx_" or "presence_" (reserved by the protocol)');
  }
  return { topic: topic as string, event: event as string, payload: payload === undefined ? {} : payload };
}

/** True when `header` is `Bearer <token>` (compared in constant time). */
export function isAuthorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m || token.length === 0) return false;
  // Compare digests so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
