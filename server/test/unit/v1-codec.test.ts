// Phoenix V1 serializer (vsn=1.0.0): object frames both ways, what the official client sends when
// configured for V1 (its documented JSON encode/decode), the keys Phoenix's own V1 serializer
// requires and writes (phoenix v1.8.12), and every hostile frame ending in a ProtocolError (1007).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeClientBinaryPush } from '../../src/protocol/binary.js';
import { ProtocolError, type ProtocolErrorCode } from '../../src/protocol/errors.js';
import { MAX_PAYLOAD_DEPTH } from '../../src/protocol/json-depth.js';
import {
  V1Serializer,
  V2Serializer,
  encodeErrorReplyWith,
  encodeReplyWith,
  serializerForVsn,
  serializers,
  unsupportedVsnMessage,
} from '../../src/protocol/serializer.js';
import { decodeV1Text, encodeV1Message } from '../../src/protocol/v1-codec.js';

/** What the official client hands its `encode` option for a channel push (socket.js `push`). */
const clientPush = {
  topic: 'room:lobby',
  event: 'new_msg',
  payload: { body: 'hi' },
  ref: '4',
  join_ref: '3',
};
/** The V1 encode/decode a V1 client passes to the official `Socket` (its documented JSON defaults). */
const v1ClientEncode = (msg: object): string => JSON.stringify(msg);
const v1ClientDecode = (raw: string): Record<string, unknown> => JSON.parse(raw) as Record<string, unknown>;

function rejects(input: () => unknown, code: ProtocolErrorCode, message?: RegExp): void {
  assert.throws(input, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.closeCode, 1007);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const decode = (text: string) => V1Serializer.decode(Buffer.from(text, 'utf8'), false);
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('V1 decode', () => {
  test('reads what the official client sends for a push and for a heartbeat (no join_ref key)', () => {
    const push = decode(v1ClientEncode(clientPush));
    assert.deepEqual(push, {
      binary: false,
      joinRef: '3',
      ref: '4',
      topic: 'room:lobby',
      event: 'new_msg',
      payload: { body: 'hi' },
      payloadJson: '{"body":"hi"}',
    });
    const heartbeat = decode(v1ClientEncode({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '5' }));
    assert.equal(heartbeat.joinRef, null);
    assert.equal(heartbeat.ref, '5');
    assert.equal(heartbeat.event, 'heartbeat');
  });

  test('ref and join_ref may be null; any JSON payload; unknown keys are ignored (as Phoenix)', () => {
    const m = decode('{"topic":"t","event":"e","payload":[1,"x",null],"ref":null,"join_ref":null,"extra":1}');
    assert.equal(m.ref, null);
    assert.equal(m.joinRef, null);
    assert.deepEqual(m.payload, [1, 'x', null]);
    assert.equal(decode('{"topic":"t","event":"e","payload":null,"ref":"1"}').payload, null);
  });

  test('a binary frame is read as the same JSON text, as Phoenix V1 does', () => {
    const m = V1Serializer.decode(Buffer.from(JSON.stringify(clientPush)), true);
    assert.equal(m.binary, false);
    assert.deepEqual(m.payload, { body: 'hi' });
  });

  test('non-object frames, including V2 arrays, are refused with a message naming the V1 shape', () => {
    const v2Frame = JSON.stringify(['3', '4', 'room:lobby', 'new_msg', {}]);
    for (const text of [v2Frame, 'null', '1', '"x"', 'true', '[]']) {
      rejects(() => decode(text), 'not_object', /JSON objects/);
    }
    for (const text of ['', '{', '{"topic":}', 'nope', '\u0000']) rejects(() => decode(text), 'invalid_json');
  });

  test('each of topic, event, payload and ref is required (Phoenix: missing key)', () => {
    for (const key of ['topic', 'event', 'payload', 'ref']) {
      const frame: Record<string, unknown> = { topic: 't', event: 'e', payload: {}, ref: '1' };
      delete frame[key];
      rejects(() => decode(JSON.stringify(frame)), 'missing_key', new RegExp(`"${key}"`));
    }
  });

  test('field types and lengths are checked as for V2', () => {
    const frame = (over: object) =>
      JSON.stringify({ topic: 't', event: 'e', payload: {}, ref: '1', ...over });
    rejects(() => decode(frame({ ref: 4 })), 'invalid_ref');
    rejects(() => decode(frame({ join_ref: 3 })), 'invalid_join_ref');
    rejects(() => decode(frame({ join_ref: {} })), 'invalid_join_ref');
    rejects(() => decode(frame({ topic: '' })), 'invalid_topic');
    rejects(() => decode(frame({ topic: 1 })), 'invalid_topic');
    rejects(() => decode(frame({ event: null })), 'invalid_event');
    rejects(() => decode(frame({ topic: 'x'.repeat(256) })), 'field_too_long');
    rejects(() => decode(frame({ ref: 'é'.repeat(128) })), 'field_too_long');
    assert.equal(decode(frame({ topic: 'x'.repeat(255) })).topic.length, 255);
  });

  test('__proto__ and other inherited names are data: no key is found through the prototype', () => {
    // JSON.parse makes "__proto__" an own key; the required keys must be own keys too.
    rejects(
      () => decode('{"__proto__":{"topic":"t","event":"e","payload":{},"ref":"1"}}'),
      'missing_key',
      /"topic"/,
    );
    const m = decode(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"topic":"t","event":"e","ref":"1",' +
        '"payload":{"__proto__":{"polluted":1},"toString":"x"}}',
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(m.binary, false);
    assert.equal(m.binary || m.payloadJson, '{"__proto__":{"polluted":1},"toString":"x"}');
    assert.equal(Object.getPrototypeOf(m.payload), Object.prototype);
  });

  test('payloads deeper than the limit are refused before parsing; the limit itself passes', () => {
    const frame = (payload: string) => `{"topic":"t","event":"e","ref":"1","payload":${payload}}`;
    assert.ok(decode(frame(nested(MAX_PAYLOAD_DEPTH))));
    rejects(() => decode(frame(nested(MAX_PAYLOAD_DEPTH + 1))), 'invalid_payload');
    rejects(() => decode(frame(nested(100_000))), 'invalid_payload');
    // Nesting inside strings is text, not depth.
    assert.ok(decode(frame(JSON.stringify('['.repeat(10_000)))));
  });

  test('binary frames that are not UTF-8 JSON text are refused', () => {
    rejects(() => V1Serializer.decode(Buffer.from([0xc3, 0x28, 0x7b]), true), 'binary_invalid_utf8');
    const v2Binary = encodeClientBinaryPush({
      joinRef: '3',
      ref: '4',
      topic: 't',
      event: 'e',
      payload: Buffer.from('{}'),
    });
    rejects(() => V1Serializer.decode(v2Binary, true), 'invalid_json');
  });

  test('decodeV1Text and the serializer agree', () => {
    assert.deepEqual(decodeV1Text(JSON.stringify(clientPush)), decode(JSON.stringify(clientPush)));
  });
});

describe('V1 encode', () => {
  test('objects with the keys Phoenix V1 writes (event, payload, ref, topic) and no join_ref', () => {
    const text = encodeV1Message('3', null, 'room:lobby', 'new_msg', '{"body":"hi"}');
    // Phoenix: Map.take(msg, [:topic, :event, :payload, :ref]) encoded by Jason, keys in order.
    assert.equal(text, '{"event":"new_msg","payload":{"body":"hi"},"ref":null,"topic":"room:lobby"}');
    assert.deepEqual(v1ClientDecode(text), {
      topic: 'room:lobby',
      event: 'new_msg',
      payload: { body: 'hi' },
      ref: null,
    });
  });

  test('heartbeat and push replies are phx_reply with {status, response} and the ref of the request', () => {
    assert.deepEqual(v1ClientDecode(encodeReplyWith(V1Serializer, null, '5', 'phoenix', 'ok')), {
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
      ref: '5',
    });
    assert.deepEqual(
      v1ClientDecode(encodeErrorReplyWith(V1Serializer, '3', '4', 'room:x', 'unmatched "topic"')),
      {
        topic: 'room:x',
        event: 'phx_reply',
        payload: { status: 'error', response: { reason: 'unmatched "topic"' } },
        ref: '4',
      },
    );
  });

  test('strings are escaped: what the client decodes is what was sent', () => {
    const topic = 'room:"\\\u2028\u{1F600}';
    assert.deepEqual(v1ClientDecode(V1Serializer.encode(null, 'e:1', topic, 'ev"', '"x"')), {
      topic,
      event: 'ev"',
      payload: 'x',
      ref: 'e:1',
    });
  });

  test('has no binary frames: a binary broadcast cannot be encoded for V1 (V2 can)', () => {
    assert.equal(V1Serializer.encodeBinaryBroadcast('t', 'e', Buffer.from([1, 2])), null);
    assert.ok(V2Serializer.encodeBinaryBroadcast('t', 'e', Buffer.from([1, 2])));
  });
});

describe('vsn negotiation', () => {
  test('1.0.x and no vsn are V1 (as Phoenix); 2.0.x is V2; anything else has no serializer (400)', () => {
    assert.equal(serializerForVsn('1.0.0'), V1Serializer);
    assert.equal(serializerForVsn('1.0.7'), V1Serializer);
    assert.equal(serializerForVsn('1.0.10'), V1Serializer);
    assert.equal(serializerForVsn('2.0.0'), V2Serializer);
    assert.equal(serializerForVsn('2.0.3'), V2Serializer);
    // Phoenix: `vsn = params["vsn"] || "1.0.0"`.
    assert.equal(serializerForVsn(null), V1Serializer);
    for (const vsn of [
      '',
      '1',
      '1.0',
      '1.1.0',
      '1.0.0-rc.1',
      '1.0.0 ',
      '01.0.0',
      '1.0.01',
      '3.0.0',
      // Phoenix requires `~> 2.0.0`: 2.1.0 and later minors, pre-releases and malformed 2.x are refused.
      '2.1.0',
      '2.0',
      '2.',
      '2.0.0-rc.1',
      '2.0.01',
      '2.0.0.0',
      '__proto__',
      'v1',
    ]) {
      assert.equal(serializerForVsn(vsn), undefined, vsn);
    }
  });
});

describe('the serializers themselves', () => {
  test('each names its vsn; both are listed, V2 first; a V2 text frame decodes as V2', () => {
    assert.equal(V2Serializer.vsn, '2.0.0');
    assert.equal(V1Serializer.vsn, '1.0.0');
    assert.deepEqual(
      serializers.map((x) => x.vsn),
      ['2.0.0', '1.0.0'],
    );
    const m = V2Serializer.decode(Buffer.from('["1","2","room:a","new_msg",{"a":1}]'), false);
    assert.ok(!m.binary);
    assert.deepEqual(
      [m.joinRef, m.ref, m.topic, m.event, m.payloadJson],
      ['1', '2', 'room:a', 'new_msg', '{"a":1}'],
    );
  });

  test('vsn 2.0.x with any patch number is V2; anything around it is not', () => {
    for (const vsn of ['2.0.12', '2.0.123456789']) assert.equal(serializerForVsn(vsn), V2Serializer, vsn);
    for (const vsn of ['x2.0.0', 'v2.0.0', '2.0.1234567890'])
      assert.equal(serializerForVsn(vsn), undefined, vsn);
  });

  test('the refusal names the vsn sent (cut to 40 characters) and both the server speaks', () => {
    assert.equal(
      unsupportedVsnMessage('9.9.9'),
      'unsupported vsn "9.9.9": this server speaks Phoenix V2 (vsn=2.0.0) and V1 (vsn=1.0.0)',
    );
    assert.match(unsupportedVsnMessage('x'.repeat(100)), new RegExp(`^unsupported vsn "${'x'.repeat(40)}":`));
    assert.match(unsupportedVsnMessage(null), /^unsupported vsn undefined:/);
  });

  test('a V1 binary frame that is not UTF-8, or starts with a byte order mark, is refused', () => {
    const refused = (data: Buffer) => {
      try {
        V1Serializer.decode(data, true);
        return 'decoded';
      } catch (e) {
        return `${(e as ProtocolError).code}: ${(e as ProtocolError).message}`;
      }
    };
    assert.equal(
      refused(Buffer.from([0x7b, 0xff, 0x7d])),
      'binary_invalid_utf8: vsn=1.0.0 binary frames must be UTF-8 JSON text',
    );
    const frame = '{"topic":"room:a","event":"e","payload":{},"ref":"1"}';
    assert.equal(refused(Buffer.from(frame)), 'decoded');
    assert.notEqual(refused(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(frame)])), 'decoded');
  });

  test('each refused V1 field is named in the message', () => {
    const message = (frame: object) => {
      try {
        decodeV1Text(JSON.stringify(frame));
        return '';
      } catch (e) {
        return (e as ProtocolError).message;
      }
    };
    const ok = { topic: 'room:a', event: 'e', payload: {}, ref: '1', join_ref: '1' };
    assert.equal(message({ ...ok, join_ref: 1 }), 'join_ref must be a string or null');
    assert.equal(message({ ...ok, ref: 1 }), 'ref must be a string or null');
    assert.equal(message({ ...ok, topic: '' }), 'topic must be a non-empty string');
    assert.equal(message({ ...ok, event: 5 }), 'event must be a non-empty string');
  });
});
