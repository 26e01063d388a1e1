// Phoenix V2 codec: text and binary, both directions, every malformed case, and byte-compatibility
// with the OFFICIAL client's serializer (phoenix exports it as `Serializer`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as phoenix from 'phoenix';
import {
  decodeClientBinary,
  decodeServerBinary,
  encodeClientBinaryPush,
  encodeServerBinary,
  type ServerBinaryMessage,
} from '../../src/protocol/binary.js';
import { closeCodeTable, CloseCode } from '../../src/protocol/close-codes.js';
import {
  decodeText,
  encodeBroadcast,
  encodeErrorReply,
  encodeMessage,
  encodePush,
  encodeReply,
} from '../../src/protocol/codec.js';
import { ProtocolError, type ProtocolErrorCode } from '../../src/protocol/errors.js';
import { MAX_PAYLOAD_DEPTH, exceedsJsonDepth } from '../../src/protocol/json-depth.js';
import { isReservedEvent } from '../../src/protocol/message.js';

interface OfficialMessage {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}
const Serializer = (
  phoenix as unknown as {
    Serializer: {
      encode(msg: OfficialMessage, cb: (encoded: string | ArrayBuffer) => void): void;
      decode(raw: string | ArrayBuffer, cb: (msg: OfficialMessage) => void): void;
    };
  }
).Serializer;

function officialEncode(msg: OfficialMessage): string | ArrayBuffer {
  let out: string | ArrayBuffer = '';
  Serializer.encode(msg, (e) => (out = e));
  return out;
}
function officialDecode(raw: string | ArrayBuffer): OfficialMessage {
  let out: OfficialMessage | undefined;
  Serializer.decode(raw, (m) => (out = m));
  return out!;
}
function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}

function rejects(input: () => unknown, code: ProtocolErrorCode): void {
  assert.throws(input, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.closeCode, 1007);
    return true;
  });
}

describe('text frames', () => {
  test('decodes what the official client encodes', () => {
    const wire = officialEncode({
      join_ref: '3',
      ref: '4',
      topic: 'room:lobby',
      event: 'new_msg',
      payload: { a: [1, 'x'] },
    });
    const msg = decodeText(wire as string);
    assert.equal(msg.binary, false);
    assert.deepEqual(
      { joinRef: msg.joinRef, ref: msg.ref, topic: msg.topic, event: msg.event, payload: msg.payload },
      { joinRef: '3', ref: '4', topic: 'room:lobby', event: 'new_msg', payload: { a: [1, 'x'] } },
    );
    assert.equal(msg.payloadJson, '{"a":[1,"x"]}', 'payload text is taken verbatim from the frame');
  });

  test('null refs (heartbeat) and any JSON payload type', () => {
    const hb = decodeText('[null,"6","phoenix","heartbeat",{}]');
    assert.equal(hb.joinRef, null);
    assert.equal(hb.ref, '6');
    for (const payload of ['"text"', '42', 'true', 'null', '[1,2]']) {
      const m = decodeText(`["1","2","room:a","ev",${payload}]`);
      assert.deepEqual(m.payload, JSON.parse(payload));
      assert.equal(m.payloadJson, payload);
    }
  });

  test('the depth limit holds in every spelling, before anything is parsed', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const at = (payload: string) => `["1","2","room:a","ev",${payload}]`;
    assert.equal(decodeText(at(nest(MAX_PAYLOAD_DEPTH))).payloadJson, nest(MAX_PAYLOAD_DEPTH));
    for (const frame of [
      at(nest(MAX_PAYLOAD_DEPTH + 1)),
      at(nest(20_000)),
      ` ${at(`{"a":${nest(20_000)}}`)}`,
    ]) {
      assert.throws(
        () => decodeText(frame),
        (e: unknown) => e instanceof ProtocolError && e.code === 'invalid_payload',
      );
    }
    // Brackets inside strings (and escaped quotes) are not nesting.
    const inString = at(JSON.stringify({ s: `\\"${'['.repeat(1000)}` }));
    assert.equal(decodeText(inString).event, 'ev');
    assert.equal(exceedsJsonDepth('"\\"[[[', 1), false);
  });

  test('differently spelled frames still decode; the payload is re-encoded', () => {
    const m = decodeText(' [ "1" , "2" , "room:\\u0061" , "ev" , { "k" : 1 } ] ');
    assert.equal(m.topic, 'room:a');
    assert.deepEqual(JSON.parse(m.payloadJson), { k: 1 });
  });

  test('round trip: every encoder output is read back by the official client', () => {
    assert.deepEqual(officialDecode(encodeMessage('1', '2', 'room:a', 'ev', '{"x":1}')), {
      join_ref: '1',
      ref: '2',
      topic: 'room:a',
      event: 'ev',
      payload: { x: 1 },
    });
    assert.deepEqual(officialDecode(encodeReply('1', '2', 'room:a', 'ok')).payload, {
      status: 'ok',
      response: {},
    });
    assert.deepEqual(officialDecode(encodeErrorReply(null, '2', 'room:a', 'unmatched topic')), {
      join_ref: null,
      ref: '2',
      topic: 'room:a',
      event: 'phx_reply',
      payload: { status: 'error', response: { reason: 'unmatched topic' } },
    });
    assert.deepEqual(officialDecode(encodePush('3', 'room:a', 'presence_state', '{}')), {
      join_ref: '3',
      ref: null,
      topic: 'room:a',
      event: 'presence_state',
      payload: {},
    });
    assert.equal(encodeBroadcast('room:"q"', 'ev', '[1]'), '[null,null,"room:\\"q\\"","ev",[1]]');
    const back = decodeText(encodeMessage('1', null, 'room:ü', 'é', '{"s":"\\u2028"}'));
    assert.deepEqual([back.topic, back.event, back.payload], ['room:ü', 'é', { s: '\u2028' }]);
  });

  test('every malformed frame is rejected with a stable code', () => {
    const long = 'x'.repeat(256);
    const cases: [string, ProtocolErrorCode][] = [
      ['', 'invalid_json'],
      ['[1,2', 'invalid_json'],
      ['{"a":1}', 'not_array'],
      ['"text"', 'not_array'],
      ['null', 'not_array'],
      ['42', 'not_array'],
      ['[]', 'wrong_length'],
      ['["1","2","t","e"]', 'wrong_length'],
      ['["1","2","t","e",{},{}]', 'wrong_length'],
      ['[1,"2","t","e",{}]', 'invalid_join_ref'],
      ['[{},"2","t","e",{}]', 'invalid_join_ref'],
      ['["1",2,"t","e",{}]', 'invalid_ref'],
      ['["1",true,"t","e",{}]', 'invalid_ref'],
      ['["1","2",null,"e",{}]', 'invalid_topic'],
      ['["1","2","","e",{}]', 'invalid_topic'],
      ['["1","2",7,"e",{}]', 'invalid_topic'],
      ['["1","2","t",null,{}]', 'invalid_event'],
      ['["1","2","t","",{}]', 'invalid_event'],
      ['["1","2","t",["e"],{}]', 'invalid_event'],
      [`["1","2","${long}","e",{}]`, 'field_too_long'],
      [`["1","2","t","${long}",{}]`, 'field_too_long'],
      [`["${long}","2","t","e",{}]`, 'field_too_long'],
      [`["1","2","${'é'.repeat(128)}","e",{}]`, 'field_too_long'],
    ];
    for (const [frame, code] of cases) rejects(() => decodeText(frame), code);
  });

  test('fields up to 255 bytes are accepted', () => {
    const max = 'x'.repeat(255);
    assert.equal(decodeText(`["1","2","${max}","${max}",{}]`).topic.length, 255);
  });
});

describe('binary frames', () => {
  test('decodes the official client binary push', () => {
    const payload = new Uint8Array([0, 1, 2, 255, 254]);
    const wire = officialEncode({
      join_ref: '12',
      ref: '13',
      topic: 'room:bin',
      event: 'blob',
      payload: payload.buffer,
    }) as ArrayBuffer;
    const msg = decodeClientBinary(Buffer.from(wire));
    assert.equal(msg.binary, true);
    assert.deepEqual([msg.joinRef, msg.ref, msg.topic, msg.event], ['12', '13', 'room:bin', 'blob']);
    assert.deepEqual([...msg.payload], [0, 1, 2, 255, 254]);
  });

  test('client push round trip (our encoder is byte-identical to the official one)', () => {
    const m = { joinRef: '1', ref: '2', topic: 'room:ü', event: 'e', payload: Buffer.from('bytes') };
    const ours = encodeClientBinaryPush(m);
    const theirs = Buffer.from(
      officialEncode({
        join_ref: '1',
        ref: '2',
        topic: 'room:ü',
        event: 'e',
        payload: toArrayBuffer(Buffer.from('bytes')),
      }) as ArrayBuffer,
    );
    assert.deepEqual(ours, theirs);
    const back = decodeClientBinary(ours);
    assert.deepEqual(
      [back.joinRef, back.ref, back.topic, back.event, back.payload.toString()],
      ['1', '2', 'room:ü', 'e', 'bytes'],
    );
    const empty = decodeClientBinary(
      encodeClientBinaryPush({ ...m, joinRef: null, ref: null, payload: Buffer.alloc(0) }),
    );
    assert.deepEqual([empty.joinRef, empty.ref, empty.payload.length], [null, null, 0]);
  });

  test('server push, reply and broadcast round trip, and the official client reads them', () => {
    const payload = Buffer.from([9, 8, 7]);
    const cases: ServerBinaryMessage[] = [
      { kind: 'push', joinRef: '5', topic: 'room:a', event: 'ev', payload },
      { kind: 'reply', joinRef: '5', ref: '6', topic: 'room:a', status: 'ok', payload },
      { kind: 'broadcast', topic: 'room:a', event: 'ev', payload },
    ];
    for (const m of cases) {
      const wire = encodeServerBinary(m);
      assert.deepEqual(decodeServerBinary(wire), m);
      const official = officialDecode(toArrayBuffer(wire));
      assert.equal(official.topic, 'room:a');
      if (m.kind === 'reply') {
        assert.equal(official.event, 'phx_reply');
        const p = official.payload as { status: string; response: ArrayBuffer };
        assert.equal(p.status, 'ok');
        assert.deepEqual([...new Uint8Array(p.response)], [9, 8, 7]);
      } else {
        assert.equal(official.event, 'ev');
        assert.equal(official.join_ref, m.kind === 'push' ? '5' : null);
        assert.deepEqual([...new Uint8Array(official.payload as ArrayBuffer)], [9, 8, 7]);
      }
    }
    assert.equal(encodeServerBinary(cases[2]!)[0], 2, 'broadcast kind byte');
    assert.equal(encodeServerBinary(cases[1]!)[0], 1, 'reply kind byte');
  });

  test('every malformed binary frame is rejected with a stable code', () => {
    const ok = encodeClientBinaryPush({
      joinRef: '1',
      ref: '2',
      topic: 'room:a',
      event: 'e',
      payload: Buffer.from('p'),
    });
    const cases: [Buffer, ProtocolErrorCode][] = [
      [Buffer.alloc(0), 'binary_too_short'],
      [Buffer.from([0]), 'binary_too_short'],
      [Buffer.from([0, 1, 1, 1]), 'binary_too_short'],
      [Buffer.from([3, 0, 0, 0, 0]), 'binary_unknown_kind'],
      [Buffer.from([255, 0, 0, 0, 0]), 'binary_unknown_kind'],
      [Buffer.from([1, 0, 0, 1, 1, 0x61, 0x62]), 'binary_unexpected_kind'],
      [Buffer.from([2, 1, 1, 0x61, 0x62]), 'binary_unexpected_kind'],
      [Buffer.from([0, 1, 1, 10, 1, 0x31, 0x32, 0x61]), 'binary_truncated'],
      [Buffer.from([0, 255, 255, 255, 255]), 'binary_truncated'],
      [ok.subarray(0, 8), 'binary_truncated'],
      [Buffer.from([0, 0, 0, 1, 1, 0xff, 0x61]), 'binary_invalid_utf8'],
      [Buffer.from([0, 0, 0, 1, 1, 0x61, 0xc3]), 'binary_invalid_utf8'],
      [Buffer.from([0, 0, 0, 0, 1, 0x61]), 'invalid_topic'],
      [Buffer.from([0, 0, 0, 1, 0, 0x61]), 'invalid_event'],
    ];
    for (const [frame, code] of cases) rejects(() => decodeClientBinary(frame), code);
    rejects(() => decodeServerBinary(Buffer.from([7])), 'binary_unknown_kind');
    rejects(() => decodeServerBinary(Buffer.from([2, 5])), 'binary_too_short');
    rejects(
      () =>
        encodeServerBinary({
          kind: 'broadcast',
          topic: 'x'.repeat(256),
          event: 'e',
          payload: Buffer.alloc(0),
        }),
      'field_too_long',
    );
  });
});

describe('events and close codes', () => {
  test('server-only events are reserved', () => {
    for (const e of ['phx_join', 'phx_reply', 'phx_close', 'presence_diff', 'presence_state'])
      assert.ok(isReservedEvent(e));
    for (const e of ['new_msg', 'heartbeat_x', 'phx', 'presence']) assert.ok(!isReservedEvent(e));
  });

  test('the close-code table documents every code the server sends', () => {
    const codes = closeCodeTable.map((c) => c.code);
    assert.deepEqual(codes, [...new Set(codes)], 'no duplicates');
    for (const code of Object.values(CloseCode)) assert.ok(codes.includes(code), `code ${code} documented`);
    for (const c of closeCodeTable)
      assert.ok(Buffer.byteLength(c.reason) <= 123, 'close reason fits a close frame');
  });
});
