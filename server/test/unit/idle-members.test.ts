// A topic's one subscriber and one presence key are held without a Set or Map until a second
// arrives (issue 14, idle memory: an idle per-user topic has one of each).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Subscriber } from '../../src/hub/hub.js';
import { SubscriberGroups } from '../../src/hub/subscriber-groups.js';
import { MemoryPresence, MemoryPresenceBus } from '../../src/presence/memory-presence.js';
import { V2Serializer } from '../../src/protocol/serializer.js';

function subscriber(got: string[], name: string): Subscriber {
  return { serializer: V2Serializer, enqueue: () => got.push(name) };
}

test('a group holds one subscriber without a Set, makes one for the second, and goes back', () => {
  const got: string[] = [];
  const [a, b] = [subscriber(got, 'a'), subscriber(got, 'b')];
  const subs = new SubscriberGroups();
  subs.add(a);
  subs.add(a);
  const group = subs.groups[V2Serializer.id]!;
  assert.ok(!(group.members instanceof Set), 'one member: no Set');
  assert.deepEqual([...group.members], [a]);
  assert.equal(subs.size, 1, 'a second add of the same member is no member more');

  subs.add(b);
  assert.ok(group.members instanceof Set);
  assert.deepEqual([...group.members], [a, b]);
  assert.equal(subs.size, 2);

  assert.ok(subs.delete(a));
  assert.ok(!subs.delete(a), 'not a member any more');
  assert.ok(!(group.members instanceof Set), 'back to no Set');
  assert.deepEqual([...group.members], [b]);
  assert.ok(subs.delete(b));
  assert.equal(subs.size, 0);
  assert.deepEqual([...group.members], []);
  assert.ok(!subs.delete(b));
});

test("a topic's one presence key needs no Map; the second key makes one, and leaving goes back", async () => {
  const bus = new MemoryPresenceBus();
  const p = new MemoryPresence({ nodeId: 'n1', bus });
  await p.track('room:1', 'alice', { phx_ref: 'r1' });
  await p.track('room:1', 'alice', { phx_ref: 'r2' });
  assert.ok(!(bus.topics.get('room:1') instanceof Map), 'one key (two entries): no Map');
  assert.deepEqual(Object.keys(await p.list('room:1')), ['alice']);

  await p.track('room:1', 'bob', { phx_ref: 'r3' });
  assert.ok(bus.topics.get('room:1') instanceof Map);
  const state = await p.list('room:1');
  assert.deepEqual(
    Object.entries(state).map(([k, v]) => [k, v.metas.map((m) => m.phx_ref)]),
    [
      ['alice', ['r1', 'r2']],
      ['bob', ['r3']],
    ],
  );

  await p.untrack('room:1', 'alice', 'r1');
  await p.untrack('room:1', 'alice', 'r2');
  assert.ok(!(bus.topics.get('room:1') instanceof Map), 'one key left: no Map');
  assert.deepEqual(Object.keys(await p.list('room:1')), ['bob']);
  await p.untrack('room:1', 'bob', 'r3');
  assert.equal(bus.topics.get('room:1'), undefined);
  assert.deepEqual(Object.keys(await p.list('room:1')), []);
});
