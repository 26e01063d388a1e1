// Issue 12 item 1: a user id (JWT `sub`) that is an Object property name must neither crash the
// node nor break presence. One node on embedded defaults, then two nodes on real Redis; each name
// joins a presence room next to an ordinary user, through the OFFICIAL phoenix client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startRedis,
  startSwitchboard,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import {
  Presence,
  connect,
  eventually,
  join,
  next,
  presentUsers,
  push,
  type Socket,
} from '../support/phoenix.js';

/** The names from the issue, plus a few more inherited ones. */
export const HOSTILE_SUBS = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'isPrototypeOf',
  'toLocaleString',
];

interface Deployment {
  /** The node the ordinary user is on, and the node the hostile user is on (may be the same). */
  nodes: [SwitchboardProcess, SwitchboardProcess];
  stop(): Promise<void>;
}

const common = { LOG_LEVEL: 'warn', PRESENCE_BATCH_MS: '20' };
const deployments: { name: string; start(): Promise<Deployment> }[] = [
  {
    name: 'one node, embedded defaults',
    async start() {
      const node = await startSwitchboard(common, { readyTimeoutMs: 60_000 });
      return { nodes: [node, node], stop: async () => void (await node.stop()) };
    },
  },
  {
    name: 'two nodes on real Redis (BROKER=redis)',
    async start() {
      const redis = await startRedis();
      const env = { ...common, BROKER: 'redis', REDIS_URL: redis.url, PRESENCE_TTL_MS: '3000' };
      const [a, b] = await Promise.all([
        startSwitchboard({ ...env, NODE_ID: 'node-a' }, { readyTimeoutMs: 60_000 }),
        startSwitchboard({ ...env, NODE_ID: 'node-b' }, { readyTimeoutMs: 60_000 }),
      ]);
      return {
        nodes: [a, b],
        async stop() {
          await Promise.all([a.stop(), b.stop()]);
          await redis.stop();
        },
      };
    },
  },
];

for (const deployment of deployments) {
  describe(`object property names as user ids: ${deployment.name}`, () => {
    let d: Deployment;
    const sockets: Socket[] = [];
    const client = async (node: SwitchboardProcess, sub: string) => {
      const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
      const socket = await connect(node.socketUrl, { params: { token } });
      sockets.push(socket);
      return socket;
    };

    before(async () => {
      d = await deployment.start();
    });
    after(async () => {
      for (const s of sockets) s.disconnect();
      await d?.stop();
    });

    for (const sub of HOSTILE_SUBS) {
      test(`sub=${JSON.stringify(sub)}: node stays up, presence and messages stay right`, async () => {
        const [home, away] = d.nodes;
        const topic = `room:keys-${Math.random().toString(36).slice(2)}`;
        const alice = (await client(home, 'alice')).channel(topic, {});
        const alicePresence = new Presence(alice);
        assert.equal((await join(alice)).status, 'ok');
        await eventually('alice sees herself', () => presentUsers(alicePresence).join() === 'alice');

        const hostile = (await client(away, sub)).channel(topic, {});
        const hostilePresence = new Presence(hostile);
        assert.equal((await join(hostile)).status, 'ok');
        const both = ['alice', sub].sort().join();
        await eventually(`alice sees alice and ${sub}`, () => presentUsers(alicePresence).join() === both);
        await eventually(`${sub} sees both`, () => presentUsers(hostilePresence).join() === both);

        // Messages flow both ways (the node did not die, the topic is not wedged).
        const atAlice = next<{ from: string }>(alice, 'msg');
        assert.equal((await push(hostile, 'msg', { from: sub })).status, 'ok');
        assert.deepEqual(await atAlice, { from: sub });

        // The leave reaches alice, as for any user.
        hostile.leave();
        await eventually(`${sub} gone at alice`, () => presentUsers(alicePresence).join() === 'alice');
        for (const node of new Set(d.nodes)) {
          assert.equal(node.proc.child.exitCode, null, `node exited:\n${node.output()}`);
          assert.equal((await fetch(`${node.metricsUrl}/healthz`)).status, 200);
        }
      });
    }
  });
}
