import { checkName, checkRef, parseFrameJson, reencodePayload } from './codec.js';
import { ProtocolError } from './errors.js';
import type { JsonInboundMessage } from './message.js';

/**
 * Phoenix V1 JSON serializer (`vsn=1.0.0`): every frame is a JSON object. Checked against
 * phoenixframework/phoenix v1.8.12 (a27a0320ec8bcc874a8ae93a85f15dfdd5e91e25),
 * lib/phoenix/socket/serializers/v1_json_serializer.ex and Phoenix.Socket.Message.from_map!/1:
 * - client -> server `{topic, event, payload, ref, join_ref?}`: the first four keys are required
 *   (`ref` may be null), `join_ref` is optional, other keys are ignored;
 * - server -> client `{event, payload, ref, topic}` (`Map.take([:topic, :event, :payload, :ref])`,
 *   which Jason writes in key order): no `join_ref`, so a V1 client cannot tell joins apart.
 * Field limits are V2's (codec.ts), so both serializers accept the same messages.
 */

/** Keys every V1 frame must have (`Map.fetch!` in from_map!/1). */
const REQUIRED_KEYS = ['topic', 'event', 'payload', 'ref'] as const;

/** Decodes and strictly validates one V1 frame's text. Throws `ProtocolError` (with a stable `code`). */
export function decodeV1Text(text: string): JsonInboundMessage {
  const parsed = parseFrameJson(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError(
      'not_object',
      'vsn=1.0.0 frames must be JSON objects {"topic", "event", "payload", "ref"} (arrays are vsn=2.0.0)',
    );
  }
  // Own keys only: JSON.parse makes "__proto__" an ordinary own key, and nothing is inherited.
  for (const key of REQUIRED_KEYS) {
    if (!Object.hasOwn(parsed, key)) {
      throw new ProtocolError('missing_key', `frame is missing key "${key}"`);
    }
  }
  const frame = parsed as Record<string, unknown>;
  const { topic, event, payload, ref } = frame;
  const joinRef = Object.hasOwn(frame, 'join_ref') ? frame.join_ref : null;
  checkRef(joinRef, 'invalid_join_ref', 'join_ref');
  checkRef(ref, 'invalid_ref', 'ref');
  checkName(topic, 'invalid_topic', 'topic');
  checkName(event, 'invalid_event', 'event');
  return { binary: false, joinRef, ref, topic, event, payload, payloadJson: reencodePayload(payload) };
}

/**
 * `{"event", "payload", "ref", "topic"}` with the payload already JSON-encoded. `joinRef` is
 * accepted for the serializer interface and dropped, as Phoenix's V1 serializer does.
 */
export function encodeV1Message(
  _joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payloadJson: string,
): string {
  const refJson = ref === null ? 'null' : JSON.stringify(ref);
  return `{"event":${JSON.stringify(event)},"payload":${payloadJson},"ref":${refJson},"topic":${JSON.stringify(topic)}}`;
}
