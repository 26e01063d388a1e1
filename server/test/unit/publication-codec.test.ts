// The publication format on Redis is shared by nodes of different versions during a rolling deploy
// and by the Lua scripts: key names, the escaping of topics and every field's check are pinned here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Publication } from '../../src/broker/broker.js';
import {
  PublicationDecodeError,
  decodePublication,
  encodePublication,
  topicChannel,
  topicKeys,
  topicTag,
} from '../../src/store/publication-codec.js';

const base = { topic: 'room:1', event: 'msg', origin: 'n1', publishedAt: 1_700_000_000_123 };

function refuses(text: string | Buffer, message: string): void {
  assert.throws(
    () => decodePublication(text),
    (err: unknown) => {
      assert.ok(err instanceof PublicationDecodeError, String(err));
      assert.equal(err.code, 'ERR_PUBLICATION_DECODE');
      assert.equal(err.message, message);
      return true;
    },
  );
}

test('the Redis names of a topic are those docs/history.md lists, braces escaped in upper-case hex', () => {
  assert.equal(topicTag('a}b{c%d'), 'a%7Db%7Bc%25d');
  assert.equal(topicChannel('room:{x}'), 'sb:{room:%7Bx%7D}');
  assert.deepEqual(topicKeys('room:a'), {
    epoch: 'sb:epoch:{room:a}',
    seq: 'sb:seq:{room:a}',
    hist: 'sb:hist:{room:a}',
    histBytes: 'sb:histbytes:{room:a}',
  });
});

test('every optional field survives the round trip, and absent ones stay absent', () => {
  const full: Publication = {
    ...base,
    payload: 'AAEC',
    binary: true,
    epoch: 'E1',
    offset: 42,
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  };
  assert.deepEqual(decodePublication(encodePublication(full)), full);
  const bare = { ...base, payload: { a: 1 } };
  assert.deepEqual(decodePublication(encodePublication(bare)), bare);
  assert.deepEqual(
    decodePublication(encodePublication({ ...base, payload: 'x', binary: false })),
    { ...base, payload: 'x' },
    'binary: false is the default and is not kept',
  );
});

test('bytes from Redis are read as UTF-8, the verbatim payload cut by characters', () => {
  const pub = { ...base, topic: 'room:ü', payloadJson: '{"s":"é€😀"}', epoch: 'E', offset: 1 };
  assert.deepEqual(decodePublication(Buffer.from(encodePublication(pub), 'utf8')), pub);
});

test('what is not a publication object is refused with the reason', () => {
  for (const text of ['null', '"text"', '7', '[1]']) refuses(text, 'publication is not a JSON object');
  const fields: [Record<string, unknown>, string][] = [
    [{ topic: 1 }, 'publication field "topic" must be a string'],
    [{ event: null }, 'publication field "event" must be a string'],
    [{ origin: 5 }, 'publication field "origin" must be a string'],
    [{ publishedAt: '1' }, 'publication field "publishedAt" must be a number'],
    [{ epoch: 3 }, 'publication field "epoch" must be a string'],
    [{ offset: '7' }, 'publication field "offset" must be an integer'],
    [{ traceparent: 1 }, 'publication field "traceparent" must be a string'],
    [{ binary: 'yes' }, 'publication field "binary" must be a boolean'],
    [{ binary: true, payload: [1] }, 'publication field "payload" must be base64 text when binary'],
  ];
  for (const [change, message] of fields)
    refuses(JSON.stringify({ ...base, payload: 'x', ...change }), message);
});

test('a payloadLength that is not an integer is refused, even if the text would fit', () => {
  const text = encodePublication({ ...base, payloadJson: '[1]' });
  assert.match(text, /"payloadLength":3,/);
  refuses(
    text.replace('"payloadLength":3', '"payloadLength":"3"'),
    'publication field "payloadLength" does not match its payload',
  );
});
