// Property-based hostile JWT claims (issue 12, section 2) against two real nodes on real Redis,
// through the OFFICIAL phoenix client: `sub`, `join` and `publish` drawn from every own and
// inherited property name of Object/Array/Function prototypes, unicode, lone surrogates and very
// long strings. A token with malformed claims is refused (401); any other joins a presence room on
// node B next to a bystander on node A, who sees it arrive, receives its message and sees it leave.
// Both nodes stay up and under RSS_BOUND_MIB. numRuns bounded: the file takes well under a minute.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import {
  signToken,
  startRedis,
  startSwitchboard,
  type RedisServer,
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
  type Channel,
  type Socket,
} from '../support/phoenix.js';
import { upgradeStatus } from '../support/raw-client.js';
import { assertUp, hostileString, rssMiB } from '../support/hostile.js';

const RSS_BOUND_MIB = 300;
const TOPIC = 'room:claims';

let redis: RedisServer;
let a: SwitchboardProcess;
let b: SwitchboardProcess;
let bystanderSocket: Socket;
let bystander: Channel;
let bystanderPresence: Presence;
let rssPeak = 0;

before(async () => {
  redis = await startRedis();
  const env = { LOG_LEVEL: 'warn', BROKER: 'redis', REDIS_URL: redis.url, PRESENCE_BATCH_MS: '20' };
  [a, b] = await Promise.all([
    startSwitchboard({ ...env, NODE_ID: 'node-a' }, { readyTimeoutMs: 60_000 }),
    startSwitchboard({ ...env, NODE_ID: 'node-b' }, { readyTimeoutMs: 60_000 }),
  ]);
  const token = await signToken({ sub: 'bystander', join: ['room:*'], publish: ['room:*'] });
  bystanderSocket = await connect(a.socketUrl, { params: { token } });
  bystander = bystanderSocket.channel(TOPIC, {});
  bystanderPresence = new Presence(bystander);
  assert.equal((await join(bystander)).status, 'ok');
});
after(async () => {
  console.log(`RSS peak of the two nodes: ${rssPeak} MiB`);
  bystanderSocket?.disconnect();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

/** A claim pattern: a hostile string, possibly made a prefix pattern. */
const pattern = fc.tuple(hostileString, fc.boolean()).map(([s, star]) => (star ? `${s}*` : s));
const validPattern = (p: string) => p.length <= 255 && !p.slice(0, -1).includes('*');

test('hostile sub/join/publish claims: 401 or a working, correctly listed user; nodes stay up', async () => {
  await fc.assert(
    fc.asyncProperty(
      hostileString.filter((s) => s !== 'bystander'),
      pattern,
      pattern,
      async (sub, joinPattern, publishPattern) => {
        const claims = { sub, join: ['room:*', joinPattern], publish: ['room:*', publishPattern] };
        const token = await signToken(claims);
        // The token carries UTF-8, so a lone surrogate arrives as U+FFFD.
        const key = sub.replace(/[\uD800-\uDFFF]/gu, '\uFFFD'); // with /u only lone halves match
        const valid = key.length <= 255 && validPattern(joinPattern) && validPattern(publishPattern);
        if (!valid) {
          assert.equal(await upgradeStatus(b.socketUrl, token), 401);
        } else {
          const socket = await connect(b.socketUrl, { params: { token } });
          try {
            const channel = socket.channel(TOPIC, {});
            assert.equal((await join(channel)).status, 'ok');
            const users = ['bystander', key].sort().join('\n');
            await eventually(
              'the user at the bystander',
              () => presentUsers(bystanderPresence).join('\n') === users,
            );
            const received = next<{ from: string }>(bystander, 'msg');
            assert.equal((await push(channel, 'msg', { from: key })).status, 'ok');
            assert.deepEqual(await received, { from: key });
            // A topic its own claim names: joined or refused, always answered.
            const own = joinPattern.replace(/\*$/, 'x');
            if (Buffer.byteLength(own) <= 255) {
              const reply = await join(socket.channel(own, {}));
              assert.ok(reply.status === 'ok' || reply.status === 'error', `join ${own}: ${reply.status}`);
            }
          } finally {
            socket.disconnect();
          }
          await eventually('the user left', () => presentUsers(bystanderPresence).join() === 'bystander');
        }
        for (const node of [a, b]) {
          await assertUp(node);
          rssPeak = Math.max(rssPeak, rssMiB(node));
        }
        assert.ok(rssPeak < RSS_BOUND_MIB, `RSS ${rssPeak} MiB >= ${RSS_BOUND_MIB} MiB`);
      },
    ),
    { numRuns: 40 },
  );
});
