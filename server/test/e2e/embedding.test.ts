// The embedding API: `createSwitchboard` from the package's main export runs the server in this
// process with handlers passed as objects; judged by the OFFICIAL phoenix client. Covers connect
// (with the JWT), join replies, terminate with its reasons (leave, rejoin, unsubscribed, closed,
// drain), and the backend calls (presence, disconnectUser).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createSwitchboard,
  type ChannelHandler,
  type Switchboard,
  type TerminateRequest,
} from '@switchboard/server';
import { onFreePorts, signToken, testSecrets } from '../../../testkit/src/index.js';
import { connect, eventually, join, push, within, type Socket } from '../support/phoenix.js';
import { upgradeStatus } from '../support/upgrade.js';

const ended: Pick<TerminateRequest, 'topic' | 'reason' | 'closeCode' | 'socketId'>[] = [];

const room: ChannelHandler<{ team: string }> = {
  join({ principal, socketId }) {
    const team = principal.assigns?.team;
    if (typeof team !== 'string') return { ok: false, reason: 'no team' };
    return {
      ok: true,
      assigns: { team },
      presence: { key: principal.sub, meta: {} },
      response: { team, socketId },
    };
  },
  handleIn({ assigns }) {
    return { ok: true, response: { team: assigns.team } };
  },
  async terminate({ topic, reason, closeCode, socketId }) {
    await Promise.resolve();
    ended.push({ topic, reason, closeCode, socketId });
  },
};

let sb: Switchboard;
const sockets: Socket[] = [];

async function client(sub: string, team = 'blue'): Promise<Socket> {
  const socket = await connect(`ws://127.0.0.1:${sb.port}/socket`, {
    params: { token: await signToken({ sub }), team },
    reconnectAfterMs: () => 60_000, // a closed socket stays closed: terminate reasons stay countable
  });
  sockets.push(socket);
  return socket;
}

describe('embedding: createSwitchboard with handlers as objects', () => {
  before(async () => {
    sb = await onFreePorts(2, ([port, metricsPort]) =>
      createSwitchboard({
        env: {
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          PORT: String(port),
          METRICS_PORT: String(metricsPort),
          JWT_SECRET: testSecrets.jwtSecret,
          API_TOKEN: testSecrets.apiToken,
          DRAIN_WINDOW_MS: '200',
          LOG_LEVEL: 'warn',
        },
        routes: [{ pattern: 'team:*', handler: room }],
        connect: ({ params }) =>
          params.team === 'red'
            ? { ok: false, reason: 'red is closed' }
            : { ok: true, assigns: { team: params.team } },
      }),
    );
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
  });

  test('connect runs after the JWT: bad token 401, refused 403, its assigns reach join', async () => {
    const base = `http://127.0.0.1:${sb.port}/socket/websocket?vsn=2.0.0`;
    const token = await signToken({ sub: 'x' });
    assert.equal(await upgradeStatus(`${base}&token=nope&team=blue`), 401);
    assert.equal(await upgradeStatus(`${base}&token=${token}&team=red`), 403);
    const s = await client('ann');
    const ch = s.channel('team:a', {});
    const reply = await join(ch);
    assert.equal(reply.status, 'ok');
    assert.equal((reply.response as { team: string }).team, 'blue');
    assert.match((reply.response as { socketId: string }).socketId, /#\d+$/);
    assert.deepEqual(await push(ch, 'x', {}), { status: 'ok', response: { team: 'blue' } });
  });

  test('terminate: leave, unsubscribed and closed, with the close code', async () => {
    const s = await client('ben');
    const ch = s.channel('team:leave', {});
    const { socketId } = (await join(ch)).response as { socketId: string };
    const mine = () => ended.filter((e) => e.socketId === socketId);
    await within(
      10_000,
      'leave reply',
      new Promise<void>((resolve) => ch.leave().receive('ok', () => resolve())),
    );
    await eventually('terminate leave', () =>
      mine().some((e) => e.reason === 'leave' && e.topic === 'team:leave'),
    );
    await join(s.channel('team:kick', {}));
    assert.deepEqual(Object.keys(await sb.presence('team:kick')), ['ben']);
    assert.equal(await sb.unsubscribeUser('ben', 'team:kick'), 1);
    await eventually('terminate unsubscribed', () => mine().some((e) => e.reason === 'unsubscribed'));
    await join(s.channel('team:end', {}));
    assert.equal(await sb.disconnectUser('ben'), 1);
    await eventually('terminate closed', () =>
      mine().some((e) => e.reason === 'closed' && e.topic === 'team:end' && e.closeCode === 4003),
    );
  });

  test('stop drains: open channels end with reason closed and code 1012', async () => {
    const s = await client('cid');
    const { socketId } = (await join(s.channel('team:drain', {}))).response as { socketId: string };
    assert.equal(await sb.stop({ flushBudgetMs: 1000 }), true);
    await eventually('terminate on drain', () =>
      ended.some((e) => e.socketId === socketId && e.reason === 'closed' && e.closeCode === 1012),
    );
  });
});
