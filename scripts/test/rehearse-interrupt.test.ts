// The rehearsal's second Ctrl-C (docs/rehearsal.md, "Ctrl-C"): the first starts the orderly stop, the
// second kills what is left at once; either way the exit is 130 and nothing it started is left. The
// fastest path: both during startup, as soon as the first local service printed its port.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertNothingLeft, rehearse } from './rehearse-child.js';

describe('npm run rehearse, interrupted twice', { timeout: 300_000 }, () => {
  // Its first runs (2026-12-05) left one descendant alive after exit 130: the second SIGINT's kill
  // awaited a 1 s grace, and the run started more children meanwhile. It now kills synchronously.
  test('a second SIGINT during the stop kills what is left: exit 130, nothing left', async () => {
    let runId = '';
    const run = await rehearse(['--short', '--skip-image'], 240_000, (line) => {
      runId ||= /\b(rh\d+)\b/.exec(line)?.[1] ?? '';
      if (/stopping everything it started/.test(line)) return 'interrupt-again';
      return /127\.0\.0\.1:\d{4,5}/.test(line) ? 'interrupt' : undefined;
    });
    assert.equal(run.code, 130, run.out.slice(-6000));
    assert.match(run.out, /rehearse: SIGINT: stopping everything it started/);
    assert.match(run.out, /rehearse: second SIGINT: killing what is left/);
    assert.ok(run.seen.size >= 1, 'the rehearsal had started something to stop');
    await assertNothingLeft(run, runId || `rh-none`);
  });
});
