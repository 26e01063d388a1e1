// Traces across two real server processes over Redis, exported over OTLP/HTTP to a real receiver
// (a node:http server decoding what @opentelemetry/exporter-trace-otlp-http sends): a push on node
// A and its delivery on node B are one trace, the deliver span a child of the publish span.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startOtlpReceiver,
  startRedis,
  startSwitchboard,
  type OtlpReceiver,
  type ReceivedSpan,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { upgradeStatus } from '../support/upgrade.js';
import { connect, join, next, push, type Socket } from '../support/phoenix.js';
import { waitFor } from '../support/wait.js';

const SPAN_KIND = { server: 2, client: 3, producer: 4, consumer: 5 };

describe('tracing over OTLP/HTTP, two nodes over Redis', () => {
  let redis: RedisServer;
  let receiver: OtlpReceiver;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  const sockets: Socket[] = [];

  const startNode = (nodeId: string) =>
    startSwitchboard(
      {
        BROKER: 'redis',
        REDIS_URL: redis.url,
        NODE_ID: nodeId,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        LOG_LEVEL: 'warn',
        DRAIN_WINDOW_MS: '500',
      },
      { readyTimeoutMs: 60_000 },
    );

  before(async () => {
    [redis, receiver] = await Promise.all([startRedis(), startOtlpReceiver()]);
    [a, b] = await Promise.all([startNode('trace-a'), startNode('trace-b')]);
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([redis?.stop(), receiver?.close()]);
  });

  const of = (node: string, name: string, topic?: string) =>
    receiver.spans.filter(
      (s) =>
        s.resource['service.instance.id'] === node &&
        s.name === name &&
        (topic === undefined || s.attributes['messaging.destination.name'] === topic),
    );

  test('connect, join, publish and deliver spans; the deliver span on B continues the publish span on A', async () => {
    const topic = `room:trace-${Math.random().toString(36).slice(2)}`;
    const token = async (sub: string) => signToken({ sub, join: ['room:*'], publish: ['room:*'] });
    const atA = await connect(a.socketUrl, { params: { token: await token('alice') } });
    const atB = await connect(b.socketUrl, { params: { token: await token('bob') } });
    sockets.push(atA, atB);
    const chA = atA.channel(topic, {});
    const chB = atB.channel(topic, {});
    assert.equal((await join(chA)).status, 'ok');
    assert.equal((await join(chB)).status, 'ok');
    const received = next<{ body: string }>(chB, 'new_msg');
    assert.equal((await push(chA, 'new_msg', { body: 'traced' })).status, 'ok');
    assert.deepEqual(await received, { body: 'traced' });

    const deliverAtB = await waitFor(
      'the deliver span of node B at the receiver',
      () => of('trace-b', 'deliver', topic)[0],
    );
    const publishAtA = await waitFor(
      'the publish span of node A at the receiver',
      () => of('trace-a', 'publish', topic)[0],
    );
    assert.deepEqual(receiver.errors, [], 'the receiver decoded every export');
    assert.match(publishAtA.traceId, /^[0-9a-f]{32}$/);
    assert.equal(deliverAtB.traceId, publishAtA.traceId, 'one trace spans both nodes');
    assert.equal(deliverAtB.parentSpanId, publishAtA.spanId, 'deliver on B is a child of publish on A');
    assert.equal(publishAtA.kind, SPAN_KIND.producer);
    assert.equal(deliverAtB.kind, SPAN_KIND.consumer);
    assert.equal(deliverAtB.attributes['switchboard.origin_node'], 'trace-a');
    assert.equal(publishAtA.resource['service.name'], 'switchboard');
    assert.equal(deliverAtB.resource['service.name'], 'switchboard');

    // The sequencer's Redis script (which publishes to the nodes) is a child of publish on A.
    const sequence = await waitFor('the sequence span of node A', () =>
      of('trace-a', 'sequence', topic).find((s) => s.traceId === publishAtA.traceId),
    );
    assert.equal(sequence.parentSpanId, publishAtA.spanId);
    assert.equal(sequence.kind, SPAN_KIND.client);
    // Node A delivers its own publication too (it comes back from the topic channel), same trace.
    const deliverAtA = await waitFor('the deliver span of node A', () =>
      of('trace-a', 'deliver', topic).find((s) => s.traceId === publishAtA.traceId),
    );
    assert.equal(deliverAtA.parentSpanId, publishAtA.spanId);

    // Joins on both nodes and the accepted upgrades, with their results.
    for (const node of ['trace-a', 'trace-b']) {
      const joins = await waitFor(`the join span of ${node}`, () => of(node, 'join', topic)[0]);
      assert.equal(joins.attributes['switchboard.join.result'], 'ok');
      assert.equal(joins.kind, SPAN_KIND.server);
      const connects = await waitFor(`an accepted connect span of ${node}`, () =>
        of(node, 'connect').find((s) => s.attributes['switchboard.connect.result'] === 'accepted'),
      );
      assert.equal(connects.attributes['http.response.status_code'], 101);
      assert.equal(connects.attributes['url.path'], '/socket/websocket');
    }
  });

  test('refused upgrades and joins are spans with their results; no span carries a token', async () => {
    const topic = `room:refused-${Math.random().toString(36).slice(2)}`;
    const status = await upgradeStatus(`${a.httpUrl}/socket/websocket?vsn=2.0.0&token=not-a-valid-token`);
    assert.equal(status, 401);
    const limited = await signToken({ sub: 'carol', join: ['lobby:*'] });
    const socket = await connect(a.socketUrl, { params: { token: limited } });
    sockets.push(socket);
    assert.equal((await join(socket.channel(topic, {}))).status, 'error');

    await waitFor('an unauthorized connect span', () =>
      of('trace-a', 'connect').find((s) => s.attributes['switchboard.connect.result'] === 'unauthorized'),
    );
    const refusedJoin = await waitFor('the refused join span', () => of('trace-a', 'join', topic)[0]);
    assert.equal(refusedJoin.attributes['switchboard.join.result'], 'unauthorized');
    const everything = JSON.stringify(receiver.spans);
    assert.ok(!everything.includes('not-a-valid-token'), 'no span holds the query token');
    assert.ok(!everything.includes(limited), 'no span holds a JWT');
    assertNoUserIds(receiver.spans);
  });
});

/** User ids are not span attributes (traces are shared more widely than logs). */
function assertNoUserIds(spans: ReceivedSpan[]): void {
  for (const s of spans) {
    for (const v of Object.values(s.attributes)) {
      assert.ok(!['alice', 'bob', 'carol'].includes(String(v)), `span ${s.name} carries a user id`);
    }
  }
}
