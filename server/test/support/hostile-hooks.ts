// The harness of the hostile hook-answer suites (issue 16, section 2): a scripted backend process
// (scripted-hook-backend.ts) in front of one node with every hook enabled, one call of each hook
// made as a user would (official `phoenix` client, raw upgrade, API), and what the user saw.
import assert from 'node:assert/strict';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type Managed,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { assertUp } from './hostile.js';
import { startListening } from './listening-process.js';
import { connect, join, push, type Channel, type Socket } from './phoenix.js';
import { upgradeAnswer } from './upgrade.js';

const SECRET = 'hook-secret-for-tests-0123456789abcdef';
/** HOOKS_MAX_RESPONSE_BYTES of the node. */
export const MAX_ANSWER_BYTES = 4096;

export type Hook = 'connect' | 'join' | 'push' | 'publish';
export const HOOKS: readonly Hook[] = ['connect', 'join', 'push', 'publish'];

/** What a client (or API caller) sees, the same shape for every hook. */
export type Seen =
  | { kind: 'accepted'; value?: unknown }
  | { kind: 'refused'; reason: string }
  | { kind: 'failed'; reason: string };

export const BACKEND_ERROR: Seen = { kind: 'failed', reason: 'backend error' };
/** The connect hook fails closed with a 500 and this body (docs/hooks.md). */
export const CONNECT_FAILED: Seen = { kind: 'failed', reason: 'connect failed' };
export const failedFor = (hook: Hook): Seen => (hook === 'connect' ? CONNECT_FAILED : BACKEND_ERROR);

/** A token that may join and publish on game:*, the hooked topics. */
export const token = (sub: string) => signToken({ sub, join: ['game:*'], publish: ['game:*'] });

export const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

function seenOfReply(status: string, response: unknown): Seen {
  if (status === 'ok') return { kind: 'accepted', value: response };
  assert.equal(status, 'error', `reply ${status}`);
  const reason = (response as { reason: string }).reason;
  return reason.startsWith('backend ') ? { kind: 'failed', reason } : { kind: 'refused', reason };
}

/** The backend, the node (HOOKS_EVENTS=connect,join,push,publish on game:*) and a client joined to game:push. */
export class HookedNode {
  private joins = 0;

  private constructor(
    private readonly backend: Managed,
    private readonly backendUrl: string,
    readonly sb: SwitchboardProcess,
    readonly socket: Socket,
    readonly pushChannel: Channel,
  ) {}

  static async start(): Promise<HookedNode> {
    const { proc, port } = await startListening('scripted-hook-backend.ts', { HOOKS_SECRET: SECRET });
    const backendUrl = `http://127.0.0.1:${port}`;
    const sb = await startSwitchboard({
      LOG_LEVEL: 'warn',
      HOOKS_URL: `${backendUrl}/hooks`,
      HOOKS_SECRET: SECRET,
      HOOKS_TOPICS: 'game:*',
      HOOKS_EVENTS: 'connect,join,push,publish',
      HOOKS_MAX_RESPONSE_BYTES: String(MAX_ANSWER_BYTES),
      // Every case is a failure on purpose: the breaker must not turn them into `unavailable`.
      HOOKS_BREAKER_FAILURES: '1000',
    });
    const socket = await connect(sb.socketUrl, { params: { token: await token('player') } });
    const pushChannel = socket.channel('game:push', {});
    assert.equal((await join(pushChannel)).status, 'ok');
    return new HookedNode(proc, backendUrl, sb, socket, pushChannel);
  }

  async stop(): Promise<void> {
    this.socket.disconnect();
    await this.sb.stop();
    await this.backend.stop();
  }

  /** Every later call of `hook` is answered `body` (raw bytes); undefined: a plain allow again. */
  async script(hook: Hook, body: Buffer | string | undefined, chunked = false): Promise<void> {
    const res = await fetch(`${this.backendUrl}/answers/${hook}`, {
      method: body === undefined ? 'DELETE' : 'PUT',
      headers: chunked ? { 'x-chunked': '1' } : {},
      body: body === undefined ? undefined : new Uint8Array(Buffer.from(body)),
    });
    assert.equal(res.status, 204);
  }

  /** Raw bodies of the signed hook requests the backend got. */
  async requests(): Promise<string[]> {
    return (await (await fetch(`${this.backendUrl}/requests`)).json()) as string[];
  }

  /** One call of `hook`, made as a user would, and what the user saw. */
  async act(hook: Hook): Promise<Seen> {
    switch (hook) {
      case 'connect': {
        const answer = await upgradeAnswer(
          `${this.sb.httpUrl}/socket/websocket?vsn=2.0.0&token=${await token('u')}`,
        );
        if (answer.status === 101) return { kind: 'accepted' };
        if (answer.status === 403) return { kind: 'refused', reason: answer.body.trim() };
        assert.equal(answer.status, 500, answer.body);
        assert.match(answer.body, /connect failed/);
        return CONNECT_FAILED;
      }
      case 'join': {
        const ch = this.socket.channel(`game:join-${this.joins++}`, {});
        const reply = await join(ch);
        ch.leave();
        return seenOfReply(reply.status, reply.response);
      }
      case 'push': {
        const reply = await push(this.pushChannel, 'move', { square: 1 });
        return seenOfReply(reply.status, reply.response);
      }
      case 'publish': {
        const res = await fetch(`${this.sb.httpUrl}/api/broadcast`, {
          method: 'POST',
          headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'game:push', event: 'news', payload: { n: 1 } }),
        });
        const text = await res.text();
        if (res.status === 202) return { kind: 'accepted', value: JSON.parse(text) };
        assert.ok(res.status === 403 || res.status === 503, `${res.status} ${text}`);
        const reason = (JSON.parse(text) as { error?: string }).error ?? text;
        return res.status === 403 ? { kind: 'refused', reason } : { kind: 'failed', reason };
      }
    }
  }

  /** A push the backend answered `"reply": "none"`: no reply may come (an error reply would). */
  async pushWithoutReply(): Promise<Seen> {
    const reply = await push(this.pushChannel, 'move', { square: 1 }, 1_000);
    return reply.status === 'timeout' ? { kind: 'accepted' } : seenOfReply(reply.status, reply.response);
  }

  /** After every case: the node is up and each hook gives its ordinary answer again. */
  async assertOrdinary(): Promise<void> {
    await assertUp(this.sb);
    for (const hook of HOOKS) {
      await this.script(hook, undefined);
      const seen = await this.act(hook);
      assert.equal(seen.kind, 'accepted', `${hook} after the case: ${JSON.stringify(seen)}`);
    }
  }
}
