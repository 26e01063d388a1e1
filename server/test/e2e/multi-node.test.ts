// Several real server processes behind one Redis (standalone, then a 3-master Redis Cluster), judged
// by the OFFICIAL phoenix client: a client on one node sees what happens on another.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Presence, Socket, type Channel, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import {
  signToken,
  startRedis,
  startRedisCluster,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';

// A small presence TTL so a killed node vanishes quickly; the kill case holds the server to it.
const PRESENCE_TTL_MS = 3000;

interface Backend {
  env: Record<string, string>;
  stop(): Promise<void>;
}

const backends: { name: string; start(): Promise<Backend> }[] = [
  {
    name: 'standalone Redis (BROKER=redis)',
    async start() {
      const redis = await startRedis();
      return { env: { BROKER: 'redis', REDIS_URL: redis.url }, stop: () => redis.stop() };
    },
  },
  {
    name: 'Redis Cluster (BROKER=redis-cluster, sharded pub/sub)',
    async start() {
      const cluster = await startRedisCluster(3);
      return {
        env: { BROKER: 'redis-cluster', REDIS_CLUSTER_NODES: cluster.nodesEnv },
        stop: () => cluster.stop(),
      };
    },
  },
];

/** Polls until `check` is truthy; the bound only turns a hang into a failure. */
async function eventually(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const backend of backends) {
  describe(`two nodes over ${backend.name}`, () => {
    let redis: Backend;
    let a: SwitchboardProcess;
    let b: SwitchboardProcess;
    const sockets: Socket[] = [];
    const startNode = (nodeId: string) =>
      startSwitchboard(
        {
          ...redis.env,
          NODE_ID: nodeId,
          PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
          PRESENCE_BATCH_MS: '20',
          LOG_LEVEL: 'warn',
        },
        { readyTimeoutMs: 60_000 }, // the machine may be busy with other suites
      );

    /** A phoenix client of user `sub` connected to `node`. */
    async function client(node: SwitchboardProcess, sub: string): Promise<Socket> {
      const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
      const socket = new Socket(node.socketUrl, {
        transport: WebSocket as unknown as SocketConnectOption['transport'],
        params: { token },
        reconnectAfterMs: () => 200,
      });
      sockets.push(socket);
      const opened = new Promise<void>((resolve) => socket.onOpen(() => resolve()));
      socket.connect();
      await opened;
      return socket;
    }

    /** Joins and collects every `event` message, and the presence list as the client sees it. */
    async function joinRoom(socket: Socket, topic: string) {
      const channel: Channel = socket.channel(topic, {});
      const messages: { event: string; payload: unknown }[] = [];
      for (const event of ['new_msg', 'announcement']) {
        channel.on(event, (payload: unknown) => {
          messages.push({ event, payload });
        });
      }
      const presence = new Presence(channel);
      const status = await new Promise<string>((resolve) => {
        channel
          .join()
          .receive('ok', () => resolve('ok'))
          .receive('error', () => resolve('error'))
          .receive('timeout', () => resolve('timeout'));
      });
      assert.equal(status, 'ok', `join ${topic}`);
      const users = () => presence.list((key: string) => key).sort();
      return { channel, messages, users };
    }

    before(async () => {
      redis = await backend.start();
      [a, b] = await Promise.all([startNode('node-a'), startNode('node-b')]);
    });
    after(async () => {
      for (const s of sockets) s.disconnect();
      await Promise.all([a?.stop(), b?.stop()]);
      await redis?.stop();
    });

    test('a client on A receives what a client on B pushes', async () => {
      const topic = `room:push-${Math.random().toString(36).slice(2)}`;
      const atA = await joinRoom(await client(a, 'alice'), topic);
      const atB = await joinRoom(await client(b, 'bob'), topic);
      const reply = await new Promise<string>((resolve) => {
        atB.channel
          .push('new_msg', { body: 'hello from B', list: [] })
          .receive('ok', () => resolve('ok'))
          .receive('error', () => resolve('error'))
          .receive('timeout', () => resolve('timeout'));
      });
      assert.equal(reply, 'ok');
      await eventually('the message at A', () => atA.messages.length > 0);
      assert.deepEqual(atA.messages, [{ event: 'new_msg', payload: { body: 'hello from B', list: [] } }]);
    });

    test('a client on A receives what POST /api/broadcast on B publishes', async () => {
      const topic = `room:api-${Math.random().toString(36).slice(2)}`;
      const atA = await joinRoom(await client(a, 'alice'), topic);
      const res = await fetch(`${b.httpUrl}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic, event: 'announcement', payload: { text: 'from the API on B' } }),
      });
      assert.equal(res.status, 202, await res.text());
      await eventually('the broadcast at A', () => atA.messages.length > 0);
      assert.deepEqual(atA.messages, [{ event: 'announcement', payload: { text: 'from the API on B' } }]);
    });

    test('presence lists the users of both nodes, on both nodes', async () => {
      const topic = `room:presence-${Math.random().toString(36).slice(2)}`;
      const atA = await joinRoom(await client(a, 'alice'), topic);
      const atB = await joinRoom(await client(b, 'bob'), topic);
      await eventually('both users at A', () => atA.users().join() === 'alice,bob');
      await eventually('both users at B', () => atB.users().join() === 'alice,bob');
      // A user who leaves on B disappears at A.
      atB.channel.leave();
      await eventually('bob gone at A', () => atA.users().join() === 'alice');
    });

    test('a node that is SIGKILLed disappears from presence on the others', async () => {
      const c = await startNode('node-c');
      try {
        const topic = `room:kill-${Math.random().toString(36).slice(2)}`;
        const atA = await joinRoom(await client(a, 'alice'), topic);
        const carol = await client(c, 'carol');
        await joinRoom(carol, topic);
        await eventually('carol at A', () => atA.users().join() === 'alice,carol');
        const killedAt = Date.now();
        await c.kill(); // SIGKILL: nothing is untracked, carol's entry must expire
        carol.disconnect(); // stop its reconnect attempts
        // The documented bound (docs/scaling.md), TTL + one sweep (TTL / 3), plus 5 s for the diff
        // to reach alice on a loaded machine: a node that ignored PRESENCE_TTL_MS (15 s) fails.
        const boundMs = PRESENCE_TTL_MS + PRESENCE_TTL_MS / 3 + 5000;
        await eventually(
          'carol gone at A',
          () => atA.users().join() === 'alice',
          boundMs - (Date.now() - killedAt),
        );
      } finally {
        await c.kill();
      }
    });
  });
}
