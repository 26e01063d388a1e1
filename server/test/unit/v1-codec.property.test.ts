// Property-based tests of the V1 serializer (vsn=1.0.0) with fast-check: hostile input of any
// shape ends in a ProtocolError (never another exception), V1 accepts exactly what V2 accepts for
// the same fields with the same error codes, every server frame is what the client's JSON.parse
// reads back, and no key (`__proto__`, `constructor`, ...) reaches a prototype. Seeded by
// fast-check's default (printed on failure).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeText } from '../../src/protocol/codec.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { MAX_PAYLOAD_DEPTH } from '../../src/protocol/json-depth.js';
import type { JsonInboundMessage } from '../../src/protocol/message.js';
import { V1Serializer } from '../../src/protocol/serializer.js';
import { decodeV1Text, encodeV1Message } from '../../src/protocol/v1-codec.js';
import { PROTOTYPE_NAMES, hostileString } from '../support/hostile.js';

type Outcome = { ok: JsonInboundMessage } | { code: string };

/** The decoder's answer; anything thrown but a ProtocolError fails the property. */
function outcome(decode: () => JsonInboundMessage): Outcome {
  try {
    return { ok: decode() };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    assert.equal(err.closeCode, 1007);
    return { code: err.code };
  }
}

/** A value any field may hold: the right type or not, prototype names, nesting near the limit. */
const anyField: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const nested = fc
  .integer({ min: MAX_PAYLOAD_DEPTH - 2, max: MAX_PAYLOAD_DEPTH + 2 })
  .map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown);
const anyPayload: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: nested },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom(...PROTOTYPE_NAMES), fc.jsonValue({ maxDepth: 2 })),
  },
);

/** `JSON.parse` text with `key` set as an own property (what JSON.parse does with "__proto__"). */
function objectText(entries: [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

describe('V1 decode properties', () => {
  test('any text, any bytes: a message or a ProtocolError, nothing else', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc
        .array(
          fc.tuple(fc.oneof(hostileString, fc.constantFrom('topic', 'event', 'payload', 'ref')), anyField),
        )
        .map(objectText),
    );
    fc.assert(
      fc.property(text, (t) => {
        outcome(() => decodeV1Text(t));
        outcome(() => V1Serializer.decode(Buffer.from(t, 'utf8'), true) as JsonInboundMessage);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        outcome(() => V1Serializer.decode(Buffer.from(bytes), true) as JsonInboundMessage);
        outcome(() => V1Serializer.decode(Buffer.from(bytes), false) as JsonInboundMessage);
      }),
      { numRuns: 1000 },
    );
  });

  test('the same fields decode the same as a V2 array: same message or same error code', () => {
    const fields = fc.record({
      topic: anyField,
      event: anyField,
      payload: anyPayload,
      ref: anyField,
      join_ref: fc.option(anyField, { nil: undefined }),
    });
    fc.assert(
      fc.property(fields, fc.array(fc.tuple(hostileString, anyField), { maxLength: 3 }), (f, extra) => {
        // Extra keys are ignored by Phoenix; written first so that the frame's own keys win.
        const entries: [string, unknown][] = [
          ...extra.filter(([k]) => !['topic', 'event', 'payload', 'ref', 'join_ref'].includes(k)),
          ['topic', f.topic],
          ['event', f.event],
          ['payload', f.payload],
          ['ref', f.ref],
        ];
        if (f.join_ref !== undefined) entries.push(['join_ref', f.join_ref]);
        const v1 = outcome(() => decodeV1Text(objectText(entries)));
        const v2 = outcome(() =>
          decodeText(JSON.stringify([f.join_ref ?? null, f.ref, f.topic, f.event, f.payload])),
        );
        assert.deepEqual(v1, v2);
      }),
      { numRuns: 3000 },
    );
  });

  test('a frame missing any of topic, event, payload, ref is refused naming the first missing key', () => {
    const keys = ['topic', 'event', 'payload', 'ref'] as const;
    fc.assert(
      fc.property(
        fc.subarray([...keys], { maxLength: 3 }),
        fc.jsonValue({ maxDepth: 4 }),
        (present, payload) => {
          const frame: [string, unknown][] = present.map((k) => [k, k === 'payload' ? payload : 'x']);
          const missing = keys.find((k) => !present.includes(k))!;
          assert.deepEqual(
            outcome(() => decodeV1Text(objectText(frame))),
            { code: 'missing_key' },
          );
          assert.throws(() => decodeV1Text(objectText(frame)), new RegExp(`"${missing}"`));
        },
      ),
    );
  });

  test('prototype-named keys anywhere are plain data: nothing is inherited or polluted', () => {
    const proto = fc.constantFrom(...PROTOTYPE_NAMES);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(proto, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 }),
        fc.dictionary(proto, fc.jsonValue({ maxDepth: 2 })),
        (outer, payload) => {
          const text = objectText([
            ...outer,
            ['topic', 't'],
            ['event', 'e'],
            ['ref', '1'],
            ['payload', payload],
          ]);
          const got = outcome(() => decodeV1Text(text));
          assert.ok('ok' in got, JSON.stringify(got));
          assert.equal(got.ok.payloadJson, JSON.stringify(payload));
          assert.deepEqual(JSON.parse(got.ok.payloadJson), JSON.parse(JSON.stringify(payload)));
          assert.equal(Object.getPrototypeOf(got.ok.payload), Object.prototype);
          assert.deepEqual(Object.keys(Object.prototype), []);
          assert.equal(({} as Record<string, unknown>).x, undefined);
        },
      ),
    );
  });
});

describe('V1 encode properties', () => {
  const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 });
  const ref = fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: null });

  test('the client reads back exactly {event, payload, ref, topic} (Phoenix V1 key order), no join_ref', () => {
    fc.assert(
      fc.property(
        ref,
        ref,
        name,
        name,
        fc.jsonValue({ maxDepth: 4 }),
        (joinRef, r, topic, event, payload) => {
          const text = encodeV1Message(joinRef, r, topic, event, JSON.stringify(payload));
          const parsed = JSON.parse(text) as Record<string, unknown>;
          assert.deepEqual(Object.keys(parsed), ['event', 'payload', 'ref', 'topic']);
          // JSON round trip: what the client decodes is what JSON.stringify/parse make of the fields.
          const same = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
          assert.deepEqual(parsed, {
            event: same(event),
            payload: same(payload),
            ref: same(r),
            topic: same(topic),
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('what the server writes, sent back by a client with its join_ref, decodes to the same fields', () => {
    const field = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(
        ref,
        ref,
        field,
        field,
        fc.jsonValue({ maxDepth: 4 }),
        (joinRef, r, topic, event, payload) => {
          const sent = JSON.parse(encodeV1Message(null, r, topic, event, JSON.stringify(payload))) as object;
          const back = outcome(() => decodeV1Text(JSON.stringify({ ...sent, join_ref: joinRef })));
          if (Buffer.byteLength(topic) > 255 || Buffer.byteLength(event) > 255) return;
          assert.ok('ok' in back, JSON.stringify(back));
          assert.deepEqual(
            { ...back.ok, payload: undefined },
            {
              binary: false,
              joinRef,
              ref: r,
              topic,
              event,
              payload: undefined,
              payloadJson: JSON.stringify(payload),
            },
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
