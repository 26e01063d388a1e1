// Arbitrary backend answers (issue 16, section 2), seeded fast-check against a live node behind a
// scripted backend process: for each hook kind the node accepts exactly the answers
// docs/hooks.schema.json accepts (plus the 255-byte bounds of docs/hooks.md), refuses the rest as
// `backend error`, and stays up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { assertUp, hostileString } from '../support/hostile.js';
import { HOOKS, HookedNode, failedFor, type Hook, type Seen } from '../support/hostile-hooks.js';

let h: HookedNode;
before(async () => {
  h = await HookedNode.start();
});
after(async () => {
  await h?.stop();
});

const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../docs/hooks.schema.json', import.meta.url)), 'utf8'),
) as Record<string, unknown>;

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
          await h.script(hook, text);
          const want = expected(hook, text);
          const noReply = hook === 'push' && want.kind === 'accepted' && text.includes('"reply":"none"');
          const seen = noReply ? await h.pushWithoutReply() : await h.act(hook);
          const normal = (s: Seen): Seen =>
            s.kind === 'accepted'
              ? { kind: 'accepted' }
              : // An HTTP body carries UTF-8: a lone surrogate in a connect refusal arrives as U+FFFD.
                { kind: s.kind, reason: s.reason.replace(/[\uD800-\uDFFF]/gu, '\uFFFD').trim() };
          assert.deepEqual(normal(seen), normal(want), text.slice(0, 300));
          tally.set(seen.kind, (tally.get(seen.kind) ?? 0) + 1);
          await assertUp(h.sb);
        }),
        { seed: 0x16_02, numRuns: RUNS_PER_HOOK },
      );
      console.log(`${hook}: ${[...tally].map(([k, n]) => `${n} ${k}`).join(', ')}`);
      // The generator must reach every outcome, or the property says little.
      for (const kind of ['accepted', 'refused', 'failed'] as const) assert.ok(tally.get(kind), kind);
      await h.assertOrdinary();
    });
  }
});
