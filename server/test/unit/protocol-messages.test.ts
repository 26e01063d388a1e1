// What a client learns from a refused frame: each rejection's message names the field and the limit
// (the connection closes with 1007 and the message is logged), plus the edges of the codecs' limits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeClientBinary,
  decodeServerBinary,
  encodeClientBinaryPush,
  encodeServerBinary,
} from '../../src/protocol/binary.js';
import { decodeText } from '../../src/protocol/codec.js';
import { ProtocolError, type ProtocolErrorCode } from '../../src/protocol/errors.js';
import { MAX_PAYLOAD_DEPTH, exceedsJsonDepth } from '../../src/protocol/json-depth.js';
import { PHOENIX_TOPIC, isReservedTopic, RESERVED_TOPIC_PREFIX } from '../../src/protocol/message.js';

function refusal(input: () => unknown): ProtocolError {
  try {
    input();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    assert.equal(err.name, 'ProtocolError', 'logs name the error');
    return err;
  }
  assert.fail('the input was accepted');
}

function refuses(input: () => unknown, code: ProtocolErrorCode, message: string): void {
  const err = refusal(input);
  assert.deepEqual([err.code, err.message], [code, message]);
}

test('text frames: the message says what is wrong', () => {
  const deep = `[null,null,"t","e",${'['.repeat(MAX_PAYLOAD_DEPTH + 1)}${']'.repeat(MAX_PAYLOAD_DEPTH + 1)}]`;
  refuses(() => decodeText(deep), 'invalid_payload', 'payload is nested deeper than 64 levels');
  refuses(() => decodeText('[1,'), 'invalid_json', 'frame is not valid JSON');
  refuses(
    () => decodeText('{}'),
    'not_array',
    'frame must be a JSON array [join_ref, ref, topic, event, payload]',
  );
  refuses(() => decodeText('[1,2,3]'), 'wrong_length', 'frame must have 5 elements, got 3');
  refuses(() => decodeText('[1,"2","t","e",{}]'), 'invalid_join_ref', 'join_ref must be a string or null');
  refuses(() => decodeText('["1",2,"t","e",{}]'), 'invalid_ref', 'ref must be a string or null');
  refuses(() => decodeText('["1","2","","e",{}]'), 'invalid_topic', 'topic must be a non-empty string');
  refuses(() => decodeText('["1","2","t",7,{}]'), 'invalid_event', 'event must be a non-empty string');
  const long = 'x'.repeat(256);
  refuses(
    () => decodeText(`["${long}","2","t","e",{}]`),
    'field_too_long',
    'join_ref must be at most 255 bytes',
  );
  refuses(() => decodeText(`["1","${long}","t","e",{}]`), 'field_too_long', 'ref must be at most 255 bytes');
  refuses(
    () => decodeText(`["1","2","${long}","e",{}]`),
    'field_too_long',
    'topic must be at most 255 bytes',
  );
  refuses(
    () => decodeText(`["1","2","t","${long}",{}]`),
    'field_too_long',
    'event must be at most 255 bytes',
  );
});

test('binary frames: the message says what is wrong', () => {
  refuses(() => decodeClientBinary(Buffer.alloc(0)), 'binary_too_short', 'binary frame is empty');
  refuses(() => decodeClientBinary(Buffer.from([0])), 'binary_too_short', 'binary push header needs 5 bytes');
  refuses(() => decodeClientBinary(Buffer.from([9])), 'binary_unknown_kind', 'unknown binary kind 9');
  refuses(
    () => decodeClientBinary(Buffer.from([2, 0, 0])),
    'binary_unexpected_kind',
    'clients may only send binary pushes (kind 0), got 2',
  );
  refuses(
    () => decodeClientBinary(Buffer.from([0, 1, 1, 1, 1, 0x31])),
    'binary_truncated',
    'binary frame header announces 9 bytes, has 6',
  );
  refuses(
    () => decodeClientBinary(Buffer.from([0, 0, 0, 1, 1, 0xff, 0x61])),
    'binary_invalid_utf8',
    'binary frame field is not valid UTF-8',
  );
  refuses(
    () => decodeClientBinary(Buffer.from([0, 0, 0, 0, 1, 0x61])),
    'invalid_topic',
    'topic must not be empty',
  );
  refuses(
    () => decodeClientBinary(Buffer.from([0, 0, 0, 1, 0, 0x61])),
    'invalid_event',
    'event must not be empty',
  );
  refuses(
    () =>
      encodeServerBinary({
        kind: 'push',
        joinRef: '1',
        topic: 'x'.repeat(256),
        event: 'e',
        payload: Buffer.alloc(0),
      }),
    'field_too_long',
    'binary frame fields must be at most 255 bytes',
  );

  refuses(() => decodeServerBinary(Buffer.alloc(0)), 'binary_too_short', 'binary frame is empty');
  refuses(() => decodeServerBinary(Buffer.from([3])), 'binary_unknown_kind', 'unknown binary kind 3');
  refuses(
    () => decodeServerBinary(Buffer.from([1, 0])),
    'binary_too_short',
    'binary frame header needs 5 bytes',
  );
  refuses(
    () => decodeServerBinary(Buffer.from([0, 0, 0, 1, 0x61])),
    'invalid_topic',
    'topic must not be empty',
  );
  refuses(
    () => decodeServerBinary(Buffer.from([0, 0, 1, 0, 0x61])),
    'invalid_event',
    'event must not be empty',
  );
  refuses(() => decodeServerBinary(Buffer.from([1, 0, 0, 0, 0])), 'invalid_topic', 'topic must not be empty');
  refuses(() => decodeServerBinary(Buffer.from([2, 0, 1, 0x65])), 'invalid_topic', 'topic must not be empty');
  refuses(() => decodeServerBinary(Buffer.from([2, 1, 0, 0x74])), 'invalid_event', 'event must not be empty');
});

test('a server frame whose header is exactly the announced size is read, not refused as short', () => {
  // Broadcast header: kind + 2 lengths. Both fields empty: the topic is refused, not the length.
  refuses(() => decodeServerBinary(Buffer.from([2, 0, 0])), 'invalid_topic', 'topic must not be empty');
});

test('binary fields of exactly 255 bytes are encoded and read back', () => {
  const topic = 't'.repeat(255);
  const frame = encodeServerBinary({ kind: 'broadcast', topic, event: 'e', payload: Buffer.from([1]) });
  assert.deepEqual(decodeServerBinary(frame), {
    kind: 'broadcast',
    topic,
    event: 'e',
    payload: Buffer.from([1]),
  });
});

test('a byte-order mark at the start of a binary field is kept, as the client wrote it', () => {
  const topic = '\uFEFFroom:bom';
  const msg = decodeClientBinary(
    encodeClientBinaryPush({ joinRef: '1', ref: '2', topic, event: 'e', payload: Buffer.alloc(0) }),
  );
  assert.equal(msg.topic, topic);
});

test('the payload text is passed on as the client spelled it (large integers keep every digit)', () => {
  const big = '[null,null,"room:a","e", {"id":12345678901234567890,"f":1.50} ]';
  assert.equal(decodeText(big).payloadJson, '{"id":12345678901234567890,"f":1.50}');
  const refs = '["1","2","room:a","e",[9007199254740993]]';
  assert.equal(decodeText(refs).payloadJson, '[9007199254740993]');
  // A frame spelled differently (spaces between fields) is re-encoded: same value, our spelling.
  assert.equal(decodeText('[ "1", "2", "room:a", "e", {"a": 1} ]').payloadJson, '{"a":1}');
});

test('the depth limit counts objects as well as arrays, and closing brackets end a level', () => {
  const objects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  assert.equal(exceedsJsonDepth(objects(3), 2), true);
  assert.equal(exceedsJsonDepth(objects(2), 2), false);
  const siblings = (open: string, close: string) => `[${Array(10).fill(`${open}${close}`).join(',')}]`;
  assert.equal(
    exceedsJsonDepth(siblings('[', ']'), 2),
    false,
    'ten empty arrays side by side are two levels',
  );
  assert.equal(
    exceedsJsonDepth(siblings('{', '}'), 2),
    false,
    'ten empty objects side by side are two levels',
  );
  assert.equal(exceedsJsonDepth('[{"a":[]},{"b":{}}]', 3), false);
  assert.equal(exceedsJsonDepth('["[[[[", "\\"[[[["]', 1), false, 'brackets inside strings do not count');
});

test('socket-level messages use the topic the official client heartbeats on', () => {
  // phoenix/assets/js/phoenix/socket.js sends {topic: "phoenix", event: "heartbeat"}.
  assert.equal(PHOENIX_TOPIC, 'phoenix');
});

test('topics starting with $sb: are the server own, anywhere else in the name they are not', () => {
  assert.equal(RESERVED_TOPIC_PREFIX, '$sb:');
  for (const t of ['$sb:control', '$sb:', '$sb:room:x']) assert.equal(isReservedTopic(t), true, t);
  for (const t of ['room:$sb:x', '$sb', 'sb:control', '$SB:control', ' $sb:control', '']) {
    assert.equal(isReservedTopic(t), false, t);
  }
});
