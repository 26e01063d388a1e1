// The drainer in-process, with sessions that only record their close: which sockets a share drain
// picks, how it paces them, the reconnect hint, and what it refuses (transport/drain.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { CloseCode, MAX_RECONNECT_AFTER_MS, drainCloseReason } from '../../src/protocol/close-codes.js';
import { Drainer, type DrainableSession } from '../../src/transport/drain.js';

class FakeSession implements DrainableSession {
  closes: { code: number; reason: string | undefined; at: number }[] = [];
  terminated = false;
  constructor(
    readonly id: number,
    private readonly set: Set<FakeSession>,
  ) {}
  get isClosing(): boolean {
    return this.closes.length > 0 || this.terminated;
  }
  close(code: typeof CloseCode.serviceRestart, reason?: string): void {
    this.closes.push({ code, reason, at: Date.now() });
    this.set.delete(this);
  }
  terminate(): void {
    this.terminated = true;
    this.set.delete(this);
  }
}

function target(n: number) {
  const sessions = new Set<FakeSession>();
  const all = Array.from({ length: n }, (_, i) => new FakeSession(i, sessions));
  for (const s of all) sessions.add(s);
  let draining = false;
  return {
    all,
    sessions,
    get draining() {
      return draining;
    },
    startDraining: () => {
      draining = true;
    },
  };
}

const logger = pino({ level: 'silent' });

test('drainCloseReason: JSON with the delay, clamped to 0..MAX_RECONNECT_AFTER_MS, within 123 bytes', () => {
  assert.equal(drainCloseReason(250), '{"reason":"service restart","reconnect_after_ms":250}');
  assert.equal(JSON.parse(drainCloseReason(-5)).reconnect_after_ms, 0);
  assert.equal(JSON.parse(drainCloseReason(NaN)).reconnect_after_ms, 0);
  assert.equal(JSON.parse(drainCloseReason(12.9)).reconnect_after_ms, 12);
  assert.equal(JSON.parse(drainCloseReason(1e12)).reconnect_after_ms, MAX_RECONNECT_AFTER_MS);
  assert.ok(Buffer.byteLength(drainCloseReason(MAX_RECONNECT_AFTER_MS)) <= 123);
});

test('a share drain closes the oldest share, paced over the window, with jittered hints, and keeps the node ready', async () => {
  const t = target(20);
  const randoms = [0, 0.5, 0.999];
  let r = 0;
  const drainer = new Drainer(t, { windowMs: 1000, logger, random: () => randoms[r++ % randoms.length]! });
  const started = Date.now();
  const share = drainer.drainShare(25, 500);
  assert.ok(typeof share === 'object');
  assert.equal(share.closing, 5);
  assert.equal(share.windowMs, 500);
  assert.equal(drainer.drainShare(10, 500), 'busy');
  await share.done;
  const closed = t.all.filter((s) => s.closes.length > 0);
  assert.deepEqual(
    closed.map((s) => s.id),
    [0, 1, 2, 3, 4],
    'the oldest five',
  );
  assert.equal(t.draining, false, 'readiness untouched');
  assert.equal(t.sessions.size, 15);
  // window 500 ms -> batches every 50 ms: hints 0, 25 and 49 ms, in the random source's order.
  assert.deepEqual(
    closed.map((s) => [s.closes[0]!.code, JSON.parse(s.closes[0]!.reason!).reconnect_after_ms]),
    [
      [1012, 0],
      [1012, 25],
      [1012, 49],
      [1012, 0],
      [1012, 25],
    ],
  );
  const spread = closed.at(-1)!.closes[0]!.at - closed[0]!.closes[0]!.at;
  assert.ok(spread >= 150, `five closes spread over the window, not at once (${spread} ms)`);
  assert.ok(Date.now() - started < 5000);
  // Finished: another one is accepted.
  const again = drainer.drainShare(100, 0);
  assert.ok(typeof again === 'object');
  assert.equal(again.closing, 15);
  await again.done;
  assert.equal(t.sessions.size, 0);
});

test('a share drain skips sockets that closed meanwhile, and 1 % of a few sockets is one', async () => {
  const t = target(3);
  const drainer = new Drainer(t, { windowMs: 1000, logger });
  const share = drainer.drainShare(1, 0);
  assert.ok(typeof share === 'object');
  assert.equal(share.closing, 1);
  await share.done;
  assert.equal(t.all[0]!.closes.length, 1);
  assert.equal(t.all[1]!.closes.length + t.all[2]!.closes.length, 0);

  const t2 = target(10);
  const d2 = new Drainer(t2, { windowMs: 1000, logger });
  const s2 = d2.drainShare(50, 1000);
  assert.ok(typeof s2 === 'object');
  t2.all[4]!.terminate(); // gone before its batch
  await s2.done;
  assert.deepEqual(
    t2.all.filter((s) => s.closes.length > 0).map((s) => s.id),
    [0, 1, 2, 3],
  );
});

test('the shutdown drain closes everyone with hints and flips readiness; a share drain is then refused', async () => {
  const t = target(6);
  const drainer = new Drainer(t, { windowMs: 200, graceMs: 100, logger });
  const done = drainer.drain();
  assert.equal(t.draining, true);
  assert.equal(drainer.drainShare(10, 100), 'shutting_down');
  await done;
  for (const s of t.all) {
    assert.equal(s.closes[0]?.code, 1012);
    const hint = JSON.parse(s.closes[0]!.reason!).reconnect_after_ms as number;
    assert.ok(hint >= 0 && hint < 20, `hint ${hint} within one 20 ms batch interval`);
  }
});
