// Hostile backend answers (issue 16, section 2): a real backend process answers each hook kind
// (connect, join, push, publish) with bytes the test chooses: `__proto__`/`constructor` keys in
// assigns, meta, replies and rewritten payloads, 20,000 levels of nesting, one byte over
// HOOKS_MAX_RESPONSE_BYTES (with and without content-length) and 10 MB, invalid UTF-8, JSON that
// is not an object, duplicate keys. What the official `phoenix` client (or the API caller) sees
// must be what docs/hooks.md says; the node stays up and a later ordinary call gets the ordinary
// answer. Arbitrary answers: hooks-hostile.property.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, join, next } from '../support/phoenix.js';
import {
  BACKEND_ERROR,
  HOOKS,
  HookedNode,
  MAX_ANSWER_BYTES,
  deep,
  failedFor,
  token,
  type Hook,
  type Seen,
} from '../support/hostile-hooks.js';

let h: HookedNode;
before(async () => {
  h = await HookedNode.start();
});
after(async () => {
  await h?.stop();
});

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
        await h.script(hook, c.body, c.chunked);
        const seen = await h.act(hook);
        assert.deepEqual(
          seen.kind === 'accepted' ? { kind: 'accepted' } : seen,
          c.expect,
          `${hook} answered ${String(c.body).slice(0, 80)}`,
        );
        await h.assertOrdinary();
      });
    }
  }
});

describe('nesting at the bound', () => {
  // The answer is one level, its field one more, then the 64 levels a client payload may have.
  /** A reply object `levels` deep; in the answer it is one level deeper. */
  const response = (levels: number) => `{"a":${deep(levels - 1)}}`;
  test('a push reply 66 levels deep in all is the reply; 67 is a backend error', async () => {
    await h.script('push', `{"reply":"ok","response":${response(65)}}`);
    assert.deepEqual(await h.act('push'), { kind: 'accepted', value: JSON.parse(response(65)) });
    await h.script('push', `{"reply":"ok","response":${response(66)}}`);
    assert.deepEqual(await h.act('push'), BACKEND_ERROR);
    await h.assertOrdinary();
  });
});

describe('prototype-named keys are plain data', () => {
  const HOSTILE = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
  /** Own keys as a parsed object has them, compared as text (deepEqual would not see `__proto__`). */
  const asText = (v: unknown) => JSON.stringify(v);

  test('connect assigns with __proto__/constructor reach the join hook as keys', async () => {
    await h.script('connect', `{"ok":true,"assigns":${HOSTILE}}`);
    const s = await connect(h.sb.socketUrl, { params: { token: await token('proto-user') } });
    try {
      assert.equal((await join(s.channel('game:assigns', {}))).status, 'ok');
      const joinCall = (await h.requests()).find(
        (r) => r.includes('"hook":"join"') && r.includes('"topic":"game:assigns"'),
      );
      assert.ok(
        joinCall?.includes(`"principal":{"sub":"proto-user","assigns":${HOSTILE}}`),
        String(joinCall),
      );
    } finally {
      s.disconnect();
    }
    await h.assertOrdinary();
  });

  test('join meta with __proto__/constructor is the presence meta, key for key', async () => {
    await h.script('join', `{"ok":true,"meta":${HOSTILE}}`);
    const ch = h.socket.channel('game:meta', {});
    const state = next<Record<string, { metas: Record<string, unknown>[] }>>(ch, 'presence_state');
    assert.equal((await join(ch)).status, 'ok');
    const meta = (await state).player?.metas[0] ?? {};
    assert.equal(Object.getPrototypeOf(meta), Object.prototype);
    assert.ok(Object.hasOwn(meta, '__proto__'));
    const { phx_ref: _ref, online_at: _at, ...rest } = meta;
    assert.equal(asText(rest), HOSTILE);
    ch.leave();
    await h.assertOrdinary();
  });

  test('a push reply and its rewritten broadcast with __proto__/constructor arrive verbatim', async () => {
    await h.script(
      'push',
      `{"reply":"ok","response":${HOSTILE},"broadcast":{"event":"moved","payload":${HOSTILE}}}`,
    );
    const moved = next<unknown>(h.pushChannel, 'moved');
    const seen = await h.act('push');
    assert.equal(seen.kind, 'accepted');
    assert.equal(asText(seen.kind === 'accepted' ? seen.value : null), HOSTILE);
    assert.equal(asText(await moved), HOSTILE);
    await h.assertOrdinary();
  });

  test('a publish rewrite with __proto__/constructor, or null, is published as written', async () => {
    for (const payload of [HOSTILE, 'null', '[1,"two"]', '"text"']) {
      await h.script('publish', `{"allow":true,"event":"rewritten","payload":${payload}}`);
      const published = next<unknown>(h.pushChannel, 'rewritten');
      assert.equal((await h.act('publish')).kind, 'accepted');
      assert.equal(asText(await published), payload);
    }
    await h.assertOrdinary();
  });
});
