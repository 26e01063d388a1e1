// Issue 12 item 8: a token must carry `exp` (within JWT_MAX_TOKEN_AGE_SECONDS); a session ends with
// 4001 when its token expires, unless the client handed over a fresh one with `access_token` on
// topic `phoenix` (done here with the official client's public `socket.push`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, join, push, within, type Socket } from '../support/phoenix.js';
import { openRaw, upgradeStatus } from '../support/raw-client.js';

const claims = { sub: 'alice', join: ['room:*'], publish: ['room:*'] };

/** Sends `access_token` on topic `phoenix` as any official-client app can, and resolves with the reply. */
function refresh(socket: Socket, token: string): Promise<{ status: string; response: unknown }> {
  const ref = socket.makeRef();
  return within(
    5000,
    'access_token reply',
    new Promise((resolve) => {
      socket.onMessage((message: object) => {
        const m = message as { topic: string; ref: string | null; payload: unknown };
        if (m.topic === 'phoenix' && m.ref === ref)
          resolve(m.payload as { status: string; response: unknown });
      });
      socket.push({ topic: 'phoenix', event: 'access_token', payload: { token }, ref });
    }),
  );
}

describe('token lifetime', () => {
  let sb: SwitchboardProcess;
  before(async () => {
    sb = await startSwitchboard({ JWT_MAX_TOKEN_AGE_SECONDS: '7200' });
  });
  after(async () => {
    await sb?.stop('SIGKILL');
  });

  test('a token without exp is refused with 401', async () => {
    const noExp = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .sign(new TextEncoder().encode(testSecrets.jwtSecret));
    assert.equal(await upgradeStatus(sb.socketUrl, noExp), 401);
  });

  test('a token living longer than JWT_MAX_TOKEN_AGE_SECONDS is refused with 401', async () => {
    assert.equal(await upgradeStatus(sb.socketUrl, await signToken(claims, undefined, '3h')), 401);
    assert.equal(await upgradeStatus(sb.socketUrl, await signToken(claims, undefined, '1h')), 101);
  });

  test('a session whose token expires is closed with 4001 and publishes nothing after', async () => {
    const c = await openRaw(sb.socketUrl, await signToken(claims, undefined, '2s'));
    c.send(['1', '1', 'room:exp', 'phx_join', {}]);
    await c.waitFor((f) => f[1] === '1' && f[3] === 'phx_reply', 'join reply');
    const { code, reason } = await within(5000, 'close after exp', c.closed);
    assert.equal(code, 4001);
    assert.equal(reason, 'token expired');
    assert.equal(c.ws.readyState, c.ws.CLOSED);
  });

  test('a token refreshed over access_token keeps the session past the old exp', async () => {
    let token = await signToken(claims, undefined, '2s');
    const socket = await connect(sb.socketUrl, { params: () => ({ token }) });
    const closes: number[] = [];
    socket.onClose((e) => {
      closes.push(e.code);
    });
    try {
      const channel = socket.channel('room:refresh', {});
      assert.equal((await join(channel)).status, 'ok');
      token = await signToken(claims, undefined, '1h');
      const reply = await refresh(socket, token);
      assert.equal(reply.status, 'ok');
      assert.ok((reply.response as { expires_at: number }).expires_at > Date.now() / 1000 + 3000);
      // The marker that the old exp has passed on the server: a session whose token was signed after
      // the old one (so its exp is the same second or later) and never refreshed is closed with 4001
      // by the node's expiry sweep, the same sweep that would have closed this session.
      const marker = await openRaw(sb.socketUrl, await signToken(claims, undefined, '2s'));
      assert.equal((await within(10_000, 'the marker session to expire', marker.closed)).code, 4001);
      // A close of this session would have reached the client before the reply to this push.
      assert.equal((await push(channel, 'msg', { n: 1 })).status, 'ok');
      assert.deepEqual(closes, []);
    } finally {
      socket.disconnect();
    }
  });

  test('access_token for another user or an invalid token is refused and changes nothing', async () => {
    const socket = await connect(sb.socketUrl, { params: { token: await signToken(claims) } });
    try {
      const other = await refresh(socket, await signToken({ ...claims, sub: 'mallory' }));
      assert.deepEqual(other, { status: 'error', response: { reason: 'token is for another user' } });
      const bad = await refresh(socket, 'not-a-jwt');
      assert.deepEqual(bad, { status: 'error', response: { reason: 'unauthorized: invalid_token' } });
      assert.equal((await join(socket.channel('room:still', {}))).status, 'ok');
    } finally {
      socket.disconnect();
    }
  });
});
