// The control plane between nodes (cluster/control-plane.ts) on in-process MemoryBrokers sharing
// one bus: commands reach every node, a census sums every node alive and says when one is missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker, MemoryBus } from '../../src/broker/memory-broker.js';
import { CENSUS_MAX_TOPICS, CONTROL_TOPIC, parseControlMessage } from '../../src/cluster/control-messages.js';
import { ControlPlane, type LocalControl } from '../../src/cluster/control-plane.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { eventually } from '../support/phoenix.js';

class FakeNode implements LocalControl {
  readonly counts = new Map<string, number>();
  readonly disconnected: string[] = [];
  readonly unsubscribed: [string, string][] = [];
  disconnectUser(sub: string): number {
    this.disconnected.push(sub);
    return 1;
  }
  unsubscribeUser(sub: string, topic: string): number {
    this.unsubscribed.push([sub, topic]);
    return 1;
  }
  topicCounts(): Iterable<[string, number]> {
    return this.counts;
  }
  subscriberCount(topic: string): number {
    return this.counts.get(topic) ?? 0;
  }
  connections = 0;
  connectionCount(): number {
    return this.connections;
  }
}

const logger = createLogger({ level: 'silent', nodeId: 'test' });

async function cluster(n: number, censusTimeoutMs = 300) {
  const bus = new MemoryBus();
  const nodes: { broker: MemoryBroker; local: FakeNode; plane: ControlPlane }[] = [];
  for (let i = 0; i < n; i++) {
    const broker = new MemoryBroker({ nodeId: `n${i}`, bus });
    await broker.start();
    const local = new FakeNode();
    const plane = new ControlPlane({ nodeId: `n${i}`, broker, local, logger, censusTimeoutMs });
    broker.onPublication((pub) => {
      if (pub.topic === CONTROL_TOPIC) plane.receive(pub);
    });
    nodes.push({ broker, local, plane });
  }
  for (const node of nodes) await node.plane.start();
  await eventually('hellos and their answers', () =>
    nodes.every((node) => node.plane.peersAlive().length === n - 1),
  );
  return nodes;
}

test('every node knows every other after start (a newcomer is answered at once)', async () => {
  const nodes = await cluster(3);
  for (const [i, node] of nodes.entries()) {
    assert.deepEqual(
      node.plane.peersAlive().sort(),
      ['n0', 'n1', 'n2'].filter((x) => x !== `n${i}`),
    );
  }
  for (const n of nodes) await n.plane.close();
});

test('each hello carries the node connections; a malformed count is left out, not trusted', async () => {
  const nodes = await cluster(3);
  nodes[0]!.local.connections = 7;
  nodes[1]!.local.connections = 0;
  nodes[2]!.local.connections = 40;
  await eventually(
    'the counts of the next hellos',
    () => JSON.stringify(nodes[0]!.plane.peerConnections().sort((a, b) => a - b)) === '[0,40]',
    5000,
  );
  assert.deepEqual(
    nodes[2]!.plane.peerConnections().sort((a, b) => a - b),
    [0, 7],
  );
  for (const connections of [-1, 1.5, '3', 1e300, null]) {
    assert.deepEqual(parseControlMessage(JSON.stringify({ kind: 'hello', node: 'x', connections })), {
      kind: 'hello',
      node: 'x',
    });
  }
  for (const n of nodes) await n.plane.close();
});

test('disconnect and unsubscribe reach every node, the calling one included', async () => {
  const nodes = await cluster(3);
  await nodes[1]!.plane.disconnectUser('__proto__');
  await nodes[2]!.plane.unsubscribeUser('constructor', 'room:a');
  await eventually('both commands on every node', () =>
    nodes.every((n) => n.local.disconnected.length > 0 && n.local.unsubscribed.length > 0),
  );
  for (const n of nodes) {
    assert.deepEqual(n.local.disconnected, ['__proto__']);
    assert.deepEqual(n.local.unsubscribed, [['constructor', 'room:a']]);
  }
  for (const n of nodes) await n.plane.close();
});

test('a census sums the counts of every node and is complete when all answered', async () => {
  const nodes = await cluster(3);
  nodes[0]!.local.counts.set('room:a', 2);
  nodes[1]!.local.counts.set('room:a', 3).set('room:b', 1);
  nodes[2]!.local.counts.set('other:x', 7).set('__proto__', 1);
  const all = await nodes[0]!.plane.census({ prefix: '' });
  assert.equal(all.nodes, 3);
  assert.equal(all.complete, true);
  assert.deepEqual([...all.counts].sort(), [
    ['__proto__', 1],
    ['other:x', 7],
    ['room:a', 5],
    ['room:b', 1],
  ]);
  const rooms = await nodes[2]!.plane.census({ prefix: 'room:' });
  assert.deepEqual([...rooms.counts].sort(), [
    ['room:a', 5],
    ['room:b', 1],
  ]);
  const one = await nodes[1]!.plane.census({ topic: 'room:a' });
  assert.deepEqual([...one.counts], [['room:a', 5]]);
  for (const n of nodes) await n.plane.close();
});

test('a node alive but silent makes the census incomplete after the timeout; a node that left does not', async () => {
  const nodes = await cluster(3, 200);
  nodes[1]!.local.counts.set('room:a', 1);
  nodes[2]!.local.counts.set('room:a', 1);
  // n2 stops answering but its hello is still fresh: the census waits for it, then gives up.
  const silenced = nodes[2]!.plane;
  silenced.receive = () => undefined;
  const started = Date.now();
  const partial = await nodes[0]!.plane.census({ topic: 'room:a' });
  assert.ok(Date.now() - started >= 190, 'waited for the silent node');
  assert.equal(partial.complete, false);
  assert.equal(partial.nodes, 2);
  assert.equal(partial.counts.get('room:a'), 1);
  // n1 leaves with `bye`: no longer expected.
  await nodes[1]!.plane.close();
  await eventually('the bye of n1', () => !nodes[0]!.plane.peersAlive().includes('n1'));
  assert.deepEqual(nodes[0]!.plane.peersAlive(), ['n2']);
  await nodes[0]!.plane.close();
});

test('a census answer holds at most CENSUS_MAX_TOPICS topics, the busiest, and says so', async () => {
  const nodes = await cluster(2);
  for (let i = 0; i < CENSUS_MAX_TOPICS + 10; i++) nodes[1]!.local.counts.set(`t${i}`, i);
  const census = await nodes[0]!.plane.census({ prefix: '' });
  assert.equal(census.complete, false);
  assert.equal(census.counts.size, CENSUS_MAX_TOPICS);
  assert.equal(census.counts.has('t0'), false, 'the least busy were left out');
  assert.equal(census.counts.get(`t${CENSUS_MAX_TOPICS + 9}`), CENSUS_MAX_TOPICS + 9);
  for (const n of nodes) await n.plane.close();
});

test('malformed control messages are dropped, never thrown', () => {
  for (const text of [
    '',
    'null',
    '[]',
    '{"kind":"__proto__"}',
    '{"kind":"disconnect"}',
    '{"kind":"disconnect","sub":1}',
    '{"kind":"unsubscribe","sub":"a"}',
    '{"kind":"census","id":"x"}',
    '{"kind":"census","id":"x","from":"n","topic":{}}',
    '{"kind":"census-answer","id":"x","to":"n","node":"m","counts":[["a",-1]]}',
    '{"kind":"census-answer","id":"x","to":"n","node":"m","counts":[["a"]]}',
    '{"kind":"census-answer","id":"x","to":"n","node":"m","counts":{"__proto__":1}}',
    `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  ]) {
    assert.equal(parseControlMessage(text), undefined, text.slice(0, 60));
  }
  assert.deepEqual(parseControlMessage('{"kind":"disconnect","sub":"__proto__","x":1}'), {
    kind: 'disconnect',
    sub: '__proto__',
  });
});
