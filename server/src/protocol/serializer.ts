import { decodeClientBinary, encodeServerBinary } from './binary.js';
import { decodeText, encodeMessage, errorResponseJson, replyPayloadJson } from './codec.js';
import { ProtocolError } from './errors.js';
import { ChannelEvent, type InboundMessage } from './message.js';
import { decodeV1Text, encodeV1Message } from './v1-codec.js';

/**
 * The wire format of one connection, chosen at the upgrade from its `vsn` (Phoenix negotiates the
 * same way, lib/phoenix/socket.ex `negotiate_serializer`). Sessions and the hub only talk to this
 * interface; the two implementations are the only code that knows what a frame looks like.
 */
export interface Serializer {
  /** 0, 1, ...: index of per-serializer caches (a broadcast is encoded once per serializer). */
  readonly id: number;
  /** The `vsn` it is named by, e.g. "2.0.0". */
  readonly vsn: string;
  /** Decodes and validates one client frame. Throws `ProtocolError`. */
  decode(data: Buffer, isBinary: boolean): InboundMessage;
  /** One text message, the payload given as JSON text (encoded once, shared by every receiver). */
  encode(
    joinRef: string | null,
    ref: string | null,
    topic: string,
    event: string,
    payloadJson: string,
  ): string;
  /** A broadcast of raw bytes as one binary message, or null when the format has no binary messages. */
  encodeBinaryBroadcast(topic: string, event: string, payload: Buffer): Buffer | null;
}

/** Phoenix V2: arrays `[join_ref, ref, topic, event, payload]` and binary frames (codec.ts, binary.ts). */
export const V2Serializer: Serializer = {
  id: 0,
  vsn: '2.0.0',
  decode: (data, isBinary) => (isBinary ? decodeClientBinary(data) : decodeText(data.toString('utf8'))),
  encode: encodeMessage,
  encodeBinaryBroadcast: (topic, event, payload) =>
    encodeServerBinary({ kind: 'broadcast', topic, event, payload }),
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Phoenix V1: JSON objects (v1-codec.ts), text only. Phoenix hands a binary frame's bytes to the
 * same JSON decoder (its V1 `decode!` ignores the opcode), so a binary frame is read as JSON text
 * too; nothing is ever sent in a binary frame, so binary broadcasts cannot reach V1 clients.
 */
export const V1Serializer: Serializer = {
  id: 1,
  vsn: '1.0.0',
  decode(data, isBinary) {
    if (!isBinary) return decodeV1Text(data.toString('utf8'));
    let text: string;
    try {
      text = utf8.decode(data);
    } catch {
      throw new ProtocolError('binary_invalid_utf8', 'vsn=1.0.0 binary frames must be UTF-8 JSON text');
    }
    return decodeV1Text(text);
  },
  encode: encodeV1Message,
  encodeBinaryBroadcast: () => null,
};

/** Every serializer, by id. */
export const serializers: readonly Serializer[] = [V2Serializer, V1Serializer];

/**
 * Phoenix's requirements `~> 1.0.0` (V1) and `~> 2.0.0` (V2), i.e. >= x.0.0 and < x.1.0
 * (lib/phoenix/transports/websocket.ex and long_poll.ex at v1.8.12), for plain `major.minor.patch`
 * versions without leading zeros (Elixir's `Version.parse` refuses those too).
 */
const V1_VSN = /^1\.0\.(?:0|[1-9]\d{0,8})$/;
const V2_VSN = /^2\.0\.(?:0|[1-9]\d{0,8})$/;

/**
 * The serializer for the upgrade's `vsn` query parameter, or undefined (answered with 400).
 * `2.0.x` is V2, `1.0.x` is V1, and no `vsn` at all is V1 as in Phoenix (lib/phoenix/socket.ex:
 * `vsn = params["vsn"] || "1.0.0"`): clients old enough to send no `vsn` speak V1. The official
 * client always sends `vsn`.
 */
export function serializerForVsn(vsn: string | null): Serializer | undefined {
  if (vsn === null) return V1Serializer;
  if (V2_VSN.test(vsn)) return V2Serializer;
  if (V1_VSN.test(vsn)) return V1Serializer;
  return undefined;
}

/** Why a `vsn` has no serializer: the same words on the WebSocket upgrade and the LongPoll open. */
export function unsupportedVsnMessage(vsn: string | null): string {
  return `unsupported vsn ${JSON.stringify(vsn?.slice(0, 40))}: this server speaks Phoenix V2 (vsn=2.0.0) and V1 (vsn=1.0.0)`;
}

/** `phx_reply` with `{"status": status, "response": response}`. */
export function encodeReplyWith(
  s: Serializer,
  joinRef: string | null,
  ref: string | null,
  topic: string,
  status: 'ok' | 'error',
  responseJson = '{}',
): string {
  return s.encode(joinRef, ref, topic, ChannelEvent.reply, replyPayloadJson(status, responseJson));
}

/** An error `phx_reply` with `{"reason": reason}`. */
export function encodeErrorReplyWith(
  s: Serializer,
  joinRef: string | null,
  ref: string | null,
  topic: string,
  reason: string,
): string {
  return encodeReplyWith(s, joinRef, ref, topic, 'error', errorResponseJson(reason));
}
