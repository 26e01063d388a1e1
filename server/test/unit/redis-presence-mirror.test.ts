// PresenceMirror turns RedisPresence's at-most-once, numbered diff stream into what a watcher
// should be told: no repeats, and a re-read when a diff went missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseDiffMessage,
  PresenceMirror,
  type PresenceDiffMessage,
  type PresenceEntry,
} from '../../src/presence/redis-presence-mirror.js';

const e = (key: string, ref: string): PresenceEntry => ({ key, meta: { phx_ref: ref } });
const msg = (version: number, joins: PresenceEntry[], leaves: PresenceEntry[] = [], epoch = 'E1') =>
  ({ origin: 'n', topic: 't', epoch, version, joins, leaves }) satisfies PresenceDiffMessage;
/** States are prototype-free (user ids may be `__proto__`): compare what goes on the wire. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

test('consecutive diffs are delivered as they are, with no re-read', () => {
  const m = new PresenceMirror();
  m.reset([], 'E1', 0, true);
  assert.deepEqual(wire(m.apply(msg(1, [e('u', 'a')]))), {
    diff: { joins: { u: { metas: [{ phx_ref: 'a' }] } }, leaves: {} },
    resync: false,
  });
  assert.deepEqual(wire(m.apply(msg(2, [], [e('u', 'a')]))), {
    diff: { joins: {}, leaves: { u: { metas: [{ phx_ref: 'a' }] } } },
    resync: false,
  });
});

test('a diff already included (by number) is dropped', () => {
  const m = new PresenceMirror();
  m.reset([e('u', 'a')], 'E1', 5, true);
  assert.deepEqual(m.apply(msg(5, [e('u', 'a')])), { resync: false });
  assert.deepEqual(m.apply(msg(3, [], [e('u', 'a')])), { resync: false });
});

test('a gap or a new epoch delivers the diff and asks for a re-read', () => {
  const m = new PresenceMirror();
  m.reset([], 'E1', 1, true);
  const gap = m.apply(msg(3, [e('u', 'b')]));
  assert.equal(gap.resync, true);
  assert.deepEqual(wire(gap.diff?.joins), { u: { metas: [{ phx_ref: 'b' }] } });
  assert.equal(m.apply(msg(1, [e('v', 'c')], [], 'E2')).resync, true);
});

test('a re-read delivers exactly what changed, without repeating what was told', () => {
  const m = new PresenceMirror();
  m.reset([e('u', 'a'), e('u', 'b')], 'E1', 4, true);
  const diff = m.reset([e('u', 'b'), e('w', 'c')], 'E2', 2);
  assert.deepEqual(wire(diff), {
    joins: { w: { metas: [{ phx_ref: 'c' }] } },
    leaves: { u: { metas: [{ phx_ref: 'a' }] } },
  });
  assert.equal(m.reset([e('u', 'b'), e('w', 'c')], 'E2', 2), undefined, 'nothing changed');
  assert.equal(m.reset([], 'E2', 1), undefined, 'an older read that finishes late is ignored');
  assert.equal(m.isBehind('E2', 2), false);
  assert.equal(m.isBehind('E2', 3), true);
  assert.equal(m.isBehind('E3', 0), true);
});

test('user ids that are Object property names come out as ordinary keys', () => {
  const m = new PresenceMirror();
  m.reset([], 'E1', 0, true);
  const out = m.apply(msg(1, [e('__proto__', 'a'), e('constructor', 'b'), e('constructor', 'c')]));
  assert.deepEqual(Object.keys(out.diff!.joins), ['__proto__', 'constructor']);
  assert.deepEqual(
    out.diff!.joins['constructor' as string]!.metas.map((x) => x.phx_ref),
    ['b', 'c'],
  );
});

test('joins of someone present and leaves of someone absent are not repeated', () => {
  const m = new PresenceMirror();
  m.reset([e('u', 'a')], 'E1', 0, true);
  assert.equal(m.apply(msg(1, [e('u', 'a')], [e('x', 'z')])).diff, undefined);
});

test('malformed diff messages are rejected, malformed entries dropped', () => {
  assert.equal(parseDiffMessage('nope'), undefined);
  assert.equal(
    parseDiffMessage('{"origin":"n","topic":"t","epoch":"E","version":"1","joins":[],"leaves":[]}'),
    undefined,
  );
  const ok = parseDiffMessage(
    '{"origin":"n","topic":"t","epoch":"E","version":1,"joins":[{"key":"u"},{"key":"u","meta":{"phx_ref":"a"}}],"leaves":[]}',
  );
  assert.deepEqual(ok?.joins, [e('u', 'a')]);
});
