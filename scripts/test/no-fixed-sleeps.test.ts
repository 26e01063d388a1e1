// No timing luck (issue 20): no test sleeps a fixed time and then asserts. A wait is on the
// condition (a poll bounded by a ceiling, a sentinel after what must not arrive); a sleep that
// paces load or holds a fault says so with `// pacing:`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixedSleeps, fixedSleepsIn } from './fixed-sleeps.js';
import { repoRoot } from './validate-fixtures.js';

const lines = (...l: string[]) => l.join('\n');

describe('the fixed-sleep check', () => {
  test('finds a sleep followed by an assertion, and one outside a loop whose effect shows later', () => {
    const found = fixedSleepsIn(
      lines(
        'test("x", async () => {',
        '  await sleep(3500);',
        '  assert.equal(await push(), "ok");',
        '  await new Promise((r) => setTimeout(r, 500));',
        '  const f = await measureRss(sb, drive, () => sleep(4000));',
        '});',
      ),
    );
    assert.deepEqual(
      found.map((f) => [f.line, f.assertLine]),
      [
        [2, 3],
        [4, undefined],
        [5, undefined],
      ],
    );
  });

  test('allows a poll loop, a `// pacing:` sleep and a helper definition', () => {
    const found = fixedSleepsIn(
      lines(
        'const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));',
        'while (!done()) {',
        '  if (Date.now() > deadline) throw new Error("timed out");',
        '  await sleep(50);',
        '}',
        'while (',
        '  count() < 8',
        ') {',
        '  await new Promise((r) => setTimeout(r, 100));',
        '}',
        'assert.ok(done());',
        'await sleep(25); // pacing: one publication every 25 ms',
        '// pacing: how long B stays frozen is the fault',
        'await sleep(600);',
        'assert.ok(late > 0);',
      ),
    );
    assert.deepEqual(found, []);
  });

  test('finds a sleep in a loop that an assertion follows within the loop body', () => {
    const found = fixedSleepsIn(
      lines('for (const c of clients) {', '  await sleep(100);', '  assert.ok(c.got);', '}'),
    );
    assert.deepEqual(
      found.map((f) => [f.line, f.assertLine]),
      [[2, 3]],
    );
  });
});

test('no test sleeps a fixed time before an assertion', () => {
  // This file's examples above are sleeps on purpose.
  const found = fixedSleeps(repoRoot).filter((f) => f.file !== 'scripts/test/no-fixed-sleeps.test.ts');
  assert.deepEqual(
    found.map((f) => `${f.file}:${f.line}: ${f.text}`),
    [],
    'wait on the condition instead (or mark a sleep that paces load with `// pacing:`)',
  );
});
