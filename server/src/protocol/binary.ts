import { ProtocolError } from './errors.js';
import { MAX_FIELD_BYTES, type BinaryInboundMessage } from './message.js';

/**
 * Phoenix V2 binary frames: byte 0 is the kind, then one length byte per string field, then the
 * fields (UTF-8), then the raw payload. The layouts differ by direction, as in Phoenix:
 *
 *   client push      0 | jr_len ref_len topic_len event_len | join_ref ref topic event | payload
 *   server push      0 | jr_len topic_len event_len         | join_ref topic event     | payload
 *   server reply     1 | jr_len ref_len topic_len status_len| join_ref ref topic status| payload
 *   server broadcast 2 | topic_len event_len                | topic event              | payload
 */
export const BinaryKind = { push: 0, reply: 1, broadcast: 2 } as const;

export type ServerBinaryMessage =
  | { kind: 'push'; joinRef: string; topic: string; event: string; payload: Buffer }
  | { kind: 'reply'; joinRef: string; ref: string; topic: string; status: string; payload: Buffer }
  | { kind: 'broadcast'; topic: string; event: string; payload: Buffer };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads `lengths.length` consecutive UTF-8 fields starting at `offset`. */
function readFields(buf: Buffer, lengths: number[], offset: number): { fields: string[]; end: number } {
  const end = lengths.reduce((a, b) => a + b, offset);
  if (end > buf.length) {
    throw new ProtocolError(
      'binary_truncated',
      `binary frame header announces ${end} bytes, has ${buf.length}`,
    );
  }
  const fields: string[] = [];
  let at = offset;
  for (const len of lengths) {
    try {
      fields.push(utf8.decode(buf.subarray(at, at + len)));
    } catch {
      throw new ProtocolError('binary_invalid_utf8', 'binary frame field is not valid UTF-8');
    }
    at += len;
  }
  return { fields, end };
}

function requireName(v: string, name: 'topic' | 'event'): string {
  if (v.length === 0) {
    throw new ProtocolError(
      name === 'topic' ? 'invalid_topic' : 'invalid_event',
      `${name} must not be empty`,
    );
  }
  return v;
}

/** Decodes a client -> server binary frame; only pushes are valid in that direction. */
export function decodeClientBinary(buf: Buffer): BinaryInboundMessage {
  if (buf.length < 1) throw new ProtocolError('binary_too_short', 'binary frame is empty');
  const kind = buf[0]!;
  if (kind > BinaryKind.broadcast)
    throw new ProtocolError('binary_unknown_kind', `unknown binary kind ${kind}`);
  if (kind !== BinaryKind.push) {
    throw new ProtocolError(
      'binary_unexpected_kind',
      `clients may only send binary pushes (kind 0), got ${kind}`,
    );
  }
  if (buf.length < 5) throw new ProtocolError('binary_too_short', 'binary push header needs 5 bytes');
  const { fields, end } = readFields(buf, [buf[1]!, buf[2]!, buf[3]!, buf[4]!], 5);
  const [joinRef, ref, topic, event] = fields as [string, string, string, string];
  return {
    binary: true,
    joinRef: joinRef === '' ? null : joinRef,
    ref: ref === '' ? null : ref,
    topic: requireName(topic, 'topic'),
    event: requireName(event, 'event'),
    payload: buf.subarray(end),
  };
}

function encodeFrame(kind: number, fields: string[], payload: Uint8Array): Buffer {
  const bytes = fields.map((f) => Buffer.from(f, 'utf8'));
  for (const b of bytes) {
    if (b.length > MAX_FIELD_BYTES) {
      throw new ProtocolError(
        'field_too_long',
        `binary frame fields must be at most ${MAX_FIELD_BYTES} bytes`,
      );
    }
  }
  const headerLen = 1 + bytes.length + bytes.reduce((a, b) => a + b.length, 0);
  const out = Buffer.allocUnsafe(headerLen + payload.length);
  out[0] = kind;
  let at = 1;
  for (const b of bytes) out[at++] = b.length;
  for (const b of bytes) at += b.copy(out, at);
  out.set(payload, at);
  return out;
}

/** Encodes a client -> server binary push (what the official client sends for ArrayBuffer payloads). */
export function encodeClientBinaryPush(m: {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Uint8Array;
}): Buffer {
  return encodeFrame(BinaryKind.push, [m.joinRef ?? '', m.ref ?? '', m.topic, m.event], m.payload);
}

/** Encodes a server -> client binary frame. */
export function encodeServerBinary(m: ServerBinaryMessage): Buffer {
  switch (m.kind) {
    case 'push':
      return encodeFrame(BinaryKind.push, [m.joinRef, m.topic, m.event], m.payload);
    case 'reply':
      return encodeFrame(BinaryKind.reply, [m.joinRef, m.ref, m.topic, m.status], m.payload);
    case 'broadcast':
      return encodeFrame(BinaryKind.broadcast, [m.topic, m.event], m.payload);
  }
}

/** Decodes a server -> client binary frame (what the official client does; used by tests and tools). */
export function decodeServerBinary(buf: Buffer): ServerBinaryMessage {
  if (buf.length < 1) throw new ProtocolError('binary_too_short', 'binary frame is empty');
  const kind = buf[0]!;
  const need = kind === BinaryKind.broadcast ? 3 : kind === BinaryKind.push ? 4 : 5;
  if (kind > BinaryKind.broadcast)
    throw new ProtocolError('binary_unknown_kind', `unknown binary kind ${kind}`);
  if (buf.length < need)
    throw new ProtocolError('binary_too_short', `binary frame header needs ${need} bytes`);
  const { fields, end } = readFields(buf, [...buf.subarray(1, need)], need);
  const payload = buf.subarray(end);
  if (kind === BinaryKind.push) {
    const [joinRef, topic, event] = fields as [string, string, string];
    return {
      kind: 'push',
      joinRef,
      topic: requireName(topic, 'topic'),
      event: requireName(event, 'event'),
      payload,
    };
  }
  if (kind === BinaryKind.reply) {
    const [joinRef, ref, topic, status] = fields as [string, string, string, string];
    return { kind: 'reply', joinRef, ref, topic: requireName(topic, 'topic'), status, payload };
  }
  const [topic, event] = fields as [string, string];
  return {
    kind: 'broadcast',
    topic: requireName(topic, 'topic'),
    event: requireName(event, 'event'),
    payload,
  };
}
