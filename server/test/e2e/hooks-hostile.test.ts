// Hostile backend answers (issue 16, section 2): a real backend process answers each hook kind
// (connect, join, push, publish) with bytes the test chooses: `__proto__`/`constructor` keys in
// assigns, meta, replies and rewritten payloads, 20,000 levels of nesting, one byte over
// HOOKS_MAX_RESPONSE_BYTES (with and without content-length) and 10 MB, invalid UTF-8, JSON that
// is not an object, duplicate keys. What the official `phoenix` client (or the API caller) sees
// must be what docs/hooks.md says; the node stays up and a later ordinary call gets the ordinary
// answer. A seeded fast-check run then sends arbitrary answers: a node accepts exactly the
// answers docs/hooks.schema.json accepts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type Managed,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, join, next, push, type Channel, type Socket } from '../support/phoenix.js';
import { assertUp, hostileString } from '../support/hostile.js';
import { startListening } from '../support/listening-process.js';
import { upgradeAnswer } from '../support/upgrade.js';

const SECRET = 'hook-secret-for-tests-0123456789abcdef';
const MAX_ANSWER_BYTES = 4096;
const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../docs/hooks.schema.json', import.meta.url)), 'utf8'),
) as Record<string, unknown>;

type Hook = 'connect' | 'join' | 'push' | 'publish';
const HOOKS: readonly Hook[] = ['connect', 'join', 'push', 'publish'];

/** What a client (or API caller) sees, the same shape for every hook. */
type Seen =
  | { kind: 'accepted'; value?: unknown }
  | { kind: 'refused'; reason: string }
  | { kind: 'failed'; reason: string };

const BACKEND_ERROR: Seen = { kind: 'failed', reason: 'backend error' };
/** The connect hook fails closed with a 500 and this body (docs/hooks.md). */
const CONNECT_FAILED: Seen = { kind: 'failed', reason: 'connect failed' };
const failedFor = (hook: Hook): Seen => (hook === 'connect' ? CONNECT_FAILED : BACKEND_ERROR);

let proc: Managed;
let backendUrl: string;
let sb: SwitchboardProcess;
let socket: Socket;
let pushChannel: Channel;
let joins = 0;

async function script(hook: Hook, body: Buffer | string | undefined, chunked = false): Promise<void> {
  const res = await fetch(`${backendUrl}/answers/${hook}`, {
    method: body === undefined ? 'DELETE' : 'PUT',
    headers: chunked ? { 'x-chunked': '1' } : {},
    body: body === undefined ? undefined : new Uint8Array(Buffer.from(body)),
  });
  assert.equal(res.status, 204);
}

async function requests(): Promise<string[]> {
  return (await (await fetch(`${backendUrl}/requests`)).json()) as string[];
}

const token = (sub: string) => signToken({ sub, join: ['game:*'], publish: ['game:*'] });

/** One call of `hook`, made as a user would, and what the user saw. */
async function act(hook: Hook): Promise<Seen> {
  switch (hook) {
    case 'connect': {
      const answer = await upgradeAnswer(
        `${sb.httpUrl}/socket/websocket?vsn=2.0.0&token=${await token('u')}`,
      );
      if (answer.status === 101) return { kind: 'accepted' };
      if (answer.status === 403) return { kind: 'refused', reason: answer.body.trim() };
      assert.equal(answer.status, 500, answer.body);
      assert.match(answer.body, /connect failed/);
      return CONNECT_FAILED;
    }
    case 'join': {
      const ch = socket.channel(`game:join-${joins++}`, {});
      const reply = await join(ch);
      ch.leave();
      return seenOfReply(reply.status, reply.response);
    }
    case 'push': {
      const reply = await push(pushChannel, 'move', { square: 1 });
      return seenOfReply(reply.status, reply.response);
    }
    case 'publish': {
      const res = await fetch(`${sb.httpUrl}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'game:push', event: 'news', payload: { n: 1 } }),
      });
      const text = await res.text();
      if (res.status === 202) return { kind: 'accepted', value: JSON.parse(text) };
      assert.ok(res.status === 403 || res.status === 503, `${res.status} ${text}`);
      const reason = (JSON.parse(text) as { error?: string; reason?: string }).error ?? text;
      return res.status === 403 ? { kind: 'refused', reason } : { kind: 'failed', reason };
    }
  }
}

function seenOfReply(status: string, response: unknown): Seen {
  if (status === 'ok') return { kind: 'accepted', value: response };
  assert.equal(status, 'error', `reply ${status}`);
  const reason = (response as { reason: string }).reason;
  return reason.startsWith('backend ') ? { kind: 'failed', reason } : { kind: 'refused', reason };
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

before(async () => {
  let port: number;
  ({ proc, port } = await startListening('scripted-hook-backend.ts', { HOOKS_SECRET: SECRET }));
  backendUrl = `http://127.0.0.1:${port}`;
  sb = await startSwitchboard({
    LOG_LEVEL: 'warn',
    HOOKS_URL: `${backendUrl}/hooks`,
    HOOKS_SECRET: SECRET,
    HOOKS_TOPICS: 'game:*',
    HOOKS_EVENTS: 'connect,join,push,publish',
    HOOKS_MAX_RESPONSE_BYTES: String(MAX_ANSWER_BYTES),
    // Every case here is a failure on purpose: the breaker must not turn them into `unavailable`.
    HOOKS_BREAKER_FAILURES: '1000',
  });
  socket = await connect(sb.socketUrl, { params: { token: await token('player') } });
  pushChannel = socket.channel('game:push', {});
  assert.equal((await join(pushChannel)).status, 'ok');
});
after(async () => {
  socket?.disconnect();
  await sb?.stop();
  await proc?.stop();
});

/** After every case: the node is up and each hook gives its ordinary answer again. */
async function assertOrdinary(): Promise<void> {
  await assertUp(sb);
  for (const hook of HOOKS) {
    await script(hook, undefined);
    const seen = await act(hook);
    assert.equal(seen.kind, 'accepted', `${hook} after the case: ${JSON.stringify(seen)}`);
  }
}

describe('hostile answers, per hook kind', () => {
  /** An answer of exactly `bytes` bytes: `prefix` + padding + `}`. */
  const sized = (prefix: string, bytes: number) => {
    const head = `${prefix},"pad":"`;
    return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
  };
  const allowPrefix: Record<Hook, string> = {
    connect: '{"ok":true',
    join: '{"ok":true',
    push: '{"reply":"ok"',
    publish: '{"allow":true',
  };
  const refusal: Record<Hook, (reason: string) => string> = {
    connect: (r) => `{"ok":false,"reason":${r}}`,
    join: (r) => `{"ok":false,"reason":${r}}`,
    push: (r) => `{"reply":"error","reason":${r}}`,
    publish: (r) => `{"allow":false,"reason":${r}}`,
  };
  const deepAnswer: Record<Hook, string> = {
    connect: `{"ok":true,"assigns":{"a":${deep(20_000)}}}`,
    join: `{"ok":true,"meta":{"a":${deep(20_000)}}}`,
    push: `{"reply":"ok","response":{"a":${deep(20_000)}}}`,
    publish: `{"allow":true,"payload":${deep(20_000)}}`,
  };
  // Duplicate keys: the last one wins (JSON.parse), so these are refusals with reason "last".
  const duplicates: Record<Hook, string> = {
    connect: '{"ok":true,"ok":false,"reason":"first","reason":"last"}',
    join: '{"ok":true,"ok":false,"reason":"first","reason":"last"}',
    push: '{"reply":"ok","reply":"error","reason":"first","reason":"last"}',
    publish: '{"allow":true,"allow":false,"reason":"first","reason":"last"}',
  };

  for (const hook of HOOKS) {
    const cases: { name: string; body: Buffer | string; chunked?: boolean; expect: Seen }[] = [
      { name: '20,000 levels deep', body: deepAnswer[hook], expect: failedFor(hook) },
      {
        name: 'exactly HOOKS_MAX_RESPONSE_BYTES',
        body: sized(allowPrefix[hook], MAX_ANSWER_BYTES),
        expect: { kind: 'accepted' },
      },
      {
        name: 'one byte over HOOKS_MAX_RESPONSE_BYTES',
        body: sized(allowPrefix[hook], MAX_ANSWER_BYTES + 1),
        expect: failedFor(hook),
      },
      {
        name: 'one byte over, chunked (no content-length)',
        body: sized(allowPrefix[hook], MAX_ANSWER_BYTES + 1),
        chunked: true,
        expect: failedFor(hook),
      },
      {
        name: '10 MB, chunked',
        body: sized(allowPrefix[hook], 10 * 1024 * 1024),
        chunked: true,
        expect: failedFor(hook),
      },
      {
        name: 'invalid UTF-8 (0xff) in the reason',
        body: Buffer.concat([
          Buffer.from(refusal[hook]('"bad ').slice(0, -1)),
          Buffer.from([0xff, 0x22, 0x7d]),
        ]),
        expect: failedFor(hook),
      },
      {
        name: 'a UTF-8-encoded lone surrogate (ED A0 80) in the reason',
        body: Buffer.concat([
          Buffer.from(refusal[hook]('"x').slice(0, -1)),
          Buffer.from([0xed, 0xa0, 0x80, 0x22, 0x7d]),
        ]),
        expect: failedFor(hook),
      },
      {
        name: 'valid UTF-8 reason',
        body: refusal[hook]('"nicht erlaubt: ü"'),
        expect: { kind: 'refused', reason: 'nicht erlaubt: ü' },
      },
      {
        name: 'duplicate keys (the last wins)',
        body: duplicates[hook],
        expect: { kind: 'refused', reason: 'last' },
      },
      ...['5', '[{"ok":true}]', 'null', '"ok"', 'true', '', '\ufeff{"ok":true}'].map((text) => ({
        name: `not an object: ${JSON.stringify(text)}`,
        body: text,
        expect: failedFor(hook),
      })),
    ];
    for (const c of cases) {
      test(`${hook}: ${c.name}`, async () => {
        await script(hook, c.body, c.chunked);
        const seen = await act(hook);
        assert.deepEqual(
          seen.kind === 'accepted' ? { kind: 'accepted' } : seen,
          c.expect,
          `${hook} answered ${String(c.body).slice(0, 80)}`,
        );
        await assertOrdinary();
      });
    }
  }
});

describe('nesting at the bound', () => {
  // The answer is one level, its field one more, then the 64 levels a client payload may have.
  /** A reply object `levels` deep; in the answer it is one level deeper. */
  const response = (levels: number) => `{"a":${deep(levels - 1)}}`;
  test('a push reply 66 levels deep in all is the reply; 67 is a backend error', async () => {
    await script('push', `{"reply":"ok","response":${response(65)}}`);
    assert.deepEqual(await act('push'), { kind: 'accepted', value: JSON.parse(response(65)) });
    await script('push', `{"reply":"ok","response":${response(66)}}`);
    assert.deepEqual(await act('push'), BACKEND_ERROR);
    await assertOrdinary();
  });
});

describe('prototype-named keys are plain data', () => {
  const HOSTILE = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
  /** Own keys as a parsed object has them, compared as text (deepEqual would not see `__proto__`). */
  const asText = (v: unknown) => JSON.stringify(v);

  test('connect assigns with __proto__/constructor reach the join hook as keys', async () => {
    await script('connect', `{"ok":true,"assigns":${HOSTILE}}`);
    const s = await connect(sb.socketUrl, { params: { token: await token('proto-user') } });
    try {
      assert.equal((await join(s.channel('game:assigns', {}))).status, 'ok');
      const joinCall = (await requests()).find(
        (r) => r.includes('"hook":"join"') && r.includes('"topic":"game:assigns"'),
      );
      assert.ok(
        joinCall?.includes(`"principal":{"sub":"proto-user","assigns":${HOSTILE}}`),
        String(joinCall),
      );
    } finally {
      s.disconnect();
    }
    await assertOrdinary();
  });

  test('join meta with __proto__/constructor is the presence meta, key for key', async () => {
    await script('join', `{"ok":true,"meta":${HOSTILE}}`);
    const ch = socket.channel('game:meta', {});
    const state = next<Record<string, { metas: Record<string, unknown>[] }>>(ch, 'presence_state');
    assert.equal((await join(ch)).status, 'ok');
    const meta = (await state).player?.metas[0] ?? {};
    assert.equal(Object.getPrototypeOf(meta), Object.prototype);
    assert.ok(Object.hasOwn(meta, '__proto__'));
    const { phx_ref: _ref, online_at: _at, ...rest } = meta;
    assert.equal(asText(rest), HOSTILE);
    ch.leave();
    await assertOrdinary();
  });

  test('a push reply and its rewritten broadcast with __proto__/constructor arrive verbatim', async () => {
    await script(
      'push',
      `{"reply":"ok","response":${HOSTILE},"broadcast":{"event":"moved","payload":${HOSTILE}}}`,
    );
    const moved = next<unknown>(pushChannel, 'moved');
    const seen = await act('push');
    assert.equal(seen.kind, 'accepted');
    assert.equal(asText(seen.kind === 'accepted' ? seen.value : null), HOSTILE);
    assert.equal(asText(await moved), HOSTILE);
    await assertOrdinary();
  });

  test('a publish rewrite with __proto__/constructor, or null, is published as written', async () => {
    for (const payload of [HOSTILE, 'null', '[1,"two"]', '"text"']) {
      await script('publish', `{"allow":true,"event":"rewritten","payload":${payload}}`);
      const published = next<unknown>(pushChannel, 'rewritten');
      assert.equal((await act('publish')).kind, 'accepted');
      assert.equal(asText(await published), payload);
    }
    await assertOrdinary();
  });
});

describe('arbitrary answers (fast-check, seeded)', () => {
  const RUNS_PER_HOOK = 50;
  const ajv = new Ajv2020({ strict: false });
  const validators = new Map(
    HOOKS.map((hook) => [hook, ajv.compile({ $defs: schema.$defs, $ref: `#/$defs/${hook}Answer` })]),
  );
  const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? '');

  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    hostileString,
    fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  );
  const field = (specific: fc.Arbitrary<unknown>) =>
    fc.option(fc.oneof({ weight: 8, arbitrary: specific }, { weight: 1, arbitrary: value }), {
      nil: undefined,
      freq: 3,
    });
  const object = fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
  // Around the 255-byte bound of reasons and events, in ASCII and in two-byte characters.
  const atBound = fc.constantFrom('x'.repeat(255), 'x'.repeat(256), 'é'.repeat(127), 'é'.repeat(128));
  const reason = fc.oneof(hostileString, atBound);
  const event = fc.oneof(hostileString, atBound, fc.constantFrom('moved', 'phx_reply', 'presence_diff', ''));
  const fieldsOf: Record<Hook, Record<string, fc.Arbitrary<unknown>>> = {
    connect: { ok: fc.boolean(), reason, assigns: object },
    join: { ok: fc.boolean(), reason, meta: object },
    push: {
      reply: fc.constantFrom('ok', 'ok', 'error', 'none'),
      reason,
      response: object,
      broadcast: fc.oneof(fc.boolean(), fc.record({ event, payload: fc.oneof(object, value) })),
    },
    publish: { allow: fc.boolean(), reason, event, payload: value },
  };
  /** An answer as text: the hook's fields (each maybe absent or of the wrong type), extra keys, or any JSON. */
  const answerText = (hook: Hook) =>
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc
          .tuple(
            fc.record(Object.fromEntries(Object.entries(fieldsOf[hook]).map(([k, a]) => [k, field(a)]))),
            fc.array(fc.tuple(hostileString, fc.jsonValue({ maxDepth: 2 })), { maxLength: 2 }),
          )
          .map(([known, extra]) => {
            const entries = [...Object.entries(known).filter(([, v]) => v !== undefined), ...extra];
            return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
          }),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
    );

  /** What docs/hooks.md and hooks.schema.json promise for `text`: accepted, refused with its reason, or failed. */
  function expected(hook: Hook, text: string): Seen {
    const a = JSON.parse(text) as Record<string, unknown>;
    const refused = hook === 'push' ? a.reply === 'error' : (a.ok ?? a.allow) === false;
    // The schema counts characters; the node counts UTF-8 bytes (docs/hooks.md).
    const byteBounds =
      (!refused || typeof a.reason !== 'string' || Buffer.byteLength(a.reason) <= 255) &&
      (hook !== 'join' || a.ok !== true || a.meta === undefined || bytes(a.meta) <= 1024) &&
      (hook !== 'publish' || typeof a.event !== 'string' || Buffer.byteLength(a.event) <= 255) &&
      (hook !== 'push' ||
        typeof a.broadcast !== 'object' ||
        a.broadcast === null ||
        Buffer.byteLength(String((a.broadcast as { event?: unknown }).event)) <= 255);
    if (!validators.get(hook)?.(a) || !byteBounds) return failedFor(hook);
    return refused ? { kind: 'refused', reason: a.reason as string } : { kind: 'accepted' };
  }

  for (const hook of HOOKS) {
    test(`${hook}: the node accepts exactly the answers the schema accepts, and stays up`, async () => {
      const tally = new Map<Seen['kind'], number>();
      await fc.assert(
        fc.asyncProperty(answerText(hook), async (text) => {
          await script(hook, text);
          const want = expected(hook, text);
          const noReply = hook === 'push' && want.kind === 'accepted' && text.includes('"reply":"none"');
          const seen = noReply ? await pushWithoutReply() : await act(hook);
          const normal = (s: Seen): Seen =>
            s.kind === 'accepted'
              ? { kind: 'accepted' }
              : // An HTTP body carries UTF-8: a lone surrogate in a connect refusal arrives as U+FFFD.
                { kind: s.kind, reason: s.reason.replace(/[\uD800-\uDFFF]/gu, '\uFFFD').trim() };
          assert.deepEqual(normal(seen), normal(want), text.slice(0, 300));
          tally.set(seen.kind, (tally.get(seen.kind) ?? 0) + 1);
          await assertUp(sb);
        }),
        { seed: 0x16_02, numRuns: RUNS_PER_HOOK },
      );
      console.log(`${hook}: ${[...tally].map(([k, n]) => `${n} ${k}`).join(', ')}`);
      // The generator must reach every outcome, or the property says little.
      for (const kind of ['accepted', 'refused', 'failed'] as const) assert.ok(tally.get(kind), kind);
      await assertOrdinary();
    });
  }
});

/** A push the backend answered `"reply": "none"`: no reply may come (an error reply would). */
async function pushWithoutReply(): Promise<Seen> {
  const reply = await push(pushChannel, 'move', { square: 1 }, 1_000);
  return reply.status === 'timeout' ? { kind: 'accepted' } : seenOfReply(reply.status, reply.response);
}
