// Fuzz: thousands of random and mutated frames (random bytes, truncated JSON, wrong arrays, wrong
// types, huge strings, deep nesting, binary garbage, valid-but-hostile messages) over several raw
// connections. Afterwards the process must be alive, must have logged no error, and a well-behaved
// official client must still join and receive a broadcast. Seeded: FUZZ_SEED reproduces a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeClientBinaryPush } from '../../src/protocol/binary.js';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';
import { connect, join, next, push } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const FRAMES = 6000;
const LANES = 6;

/** mulberry32: small, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Frame = { data: string | Buffer; binary: boolean };

function generator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const str = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + int(0x2fff))).join('');
  const topics = ['room:a', 'room:b', 'phoenix', 'nope:x', '', 'room:' + 'z'.repeat(300), 'room:ü', 'room:*'];
  const events = [
    'phx_join',
    'phx_leave',
    'heartbeat',
    'new_msg',
    'phx_reply',
    'presence_diff',
    'phx_close',
    '',
  ];
  const values = [null, 0, -1, 1.5, true, false, '', 'x', [], {}, [1, [2]], { a: { b: null } }, 'phx_join'];
  const validish = (): unknown[] => [
    rand() < 0.8 ? String(int(20)) : null,
    rand() < 0.9 ? String(int(1e6)) : null,
    pick(topics),
    pick(events),
    rand() < 0.7
      ? { meta: rand() < 0.5 ? { s: str(int(50)) } : pick(values), body: str(int(100)) }
      : pick(values),
  ];
  const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  const kinds: (() => Frame)[] = [
    () => ({ data: bytes(1 + int(200)), binary: false }), // random bytes as text (mostly invalid UTF-8)
    () => ({ data: bytes(int(300)), binary: true }), // binary garbage
    () => {
      const text = JSON.stringify(validish());
      return { data: text.slice(0, int(text.length)), binary: false }; // truncated JSON
    },
    () => ({ data: JSON.stringify(Array.from({ length: int(9) }, () => pick(values))), binary: false }), // wrong arrays
    () => {
      const f = validish();
      f[int(5)] = pick(values); // one field of the wrong type
      return { data: JSON.stringify(f), binary: false };
    },
    () => ({ data: JSON.stringify(validish()), binary: false }), // valid shape, hostile content
    () => ({ data: JSON.stringify(validish()), binary: false }),
    () => ({
      data: JSON.stringify(['1', '2', 'room:a', 'new_msg', { s: 'x'.repeat(int(80_000)) }]),
      binary: false,
    }), // huge strings
    () => ({ data: JSON.stringify(['1', '2', str(int(400)), str(int(400)), {}]), binary: false }),
    () => ({ data: `["1","2","room:a","new_msg",${deep(1 + int(30_000))}]`, binary: false }), // deep nesting
    // Spelled so the payload cannot be reused verbatim: the server must re-encode it.
    () => ({ data: ` ["1" ,"2","room:a","new_msg",{"meta":${deep(200 + int(20_000))}}]`, binary: false }),
    () => ({
      data: `["1","3","room:a","phx_join",{"meta":${'{"a":'.repeat(400)}1${'}'.repeat(400)}}]`,
      binary: false,
    }),
    () => {
      const frame = encodeClientBinaryPush({
        joinRef: String(int(5)),
        ref: String(int(100)),
        topic: pick(['room:a', 'room:b', 'nope']),
        event: pick(['blob', 'phx_join', 'presence_diff']),
        payload: bytes(int(100)),
      });
      for (let i = int(4); i > 0; i--) frame[int(frame.length)] = int(256); // mutated binary push
      return { data: frame, binary: true };
    },
    () => ({
      data: pick(['', '[]', '{}', 'null', '[null]', '"str"', '1e999', '[1,2,3,4,5]', '\u0000']),
      binary: false,
    }),
  ];
  return () => pick(kinds)();
}

async function lane(sb: SwitchboardProcess, token: string, next: () => Frame, budget: { left: number }) {
  let client: RawClient | null = null;
  let ref = 0;
  while (budget.left > 0) {
    if (!client || client.ws.readyState !== client.ws.OPEN) {
      client = await openRaw(sb.socketUrl, token);
      client.send(['1', 'j', 'room:a', 'phx_join', {}]);
    }
    const c = client;
    const burst = Math.min(budget.left, 1 + Math.floor(Math.random() * 15));
    budget.left -= burst;
    for (let i = 0; i < burst && c.ws.readyState === c.ws.OPEN; i++) {
      const f = next();
      c.ws.send(f.data, { binary: f.binary });
    }
    // A heartbeat after each burst: its reply (or the close) means the server processed the burst.
    const hb = `hb${++ref}`;
    if (c.ws.readyState === c.ws.OPEN) c.send([null, hb, 'phoenix', 'heartbeat', {}]);
    await c
      .waitFor((f) => f[1] === hb, 'heartbeat reply', 30_000)
      .catch((err: unknown) => {
        if (c.ws.readyState !== c.ws.CLOSED) throw err; // open but silent: a real failure
      });
    c.frames.length = 0;
  }
  client?.ws.close();
}

test(`fuzz: ${FRAMES} random and mutated frames do not hurt the server`, async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const sb = await startSwitchboard({
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    LOG_LEVEL: 'warn',
  });
  try {
    const token = await signToken({ sub: 'fuzzer', join: ['room:*'], publish: ['room:*'] });
    const nextFrame = generator(prng(seed));
    const budget = { left: FRAMES };
    const t0 = Date.now();
    await Promise.all(Array.from({ length: LANES }, () => lane(sb, token, nextFrame, budget)));
    console.log(`fuzz seed ${seed}: ${FRAMES} frames in ${Date.now() - t0} ms`);

    assert.equal(sb.proc.child.exitCode, null, `server died (seed ${seed}):\n${sb.output()}`);
    assert.equal((await fetch(`${sb.httpUrl}/healthz`)).status, 200);
    const errors = sb
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(errors, [], `server logged errors (seed ${seed})`);
    const metrics = await (await fetch(`${sb.httpUrl}/metrics`)).text();
    const malformed = Number(
      /^switchboard_frames_rejected_total\{reason="malformed"\} (\d+)/m.exec(metrics)?.[1] ?? 0,
    );
    assert.ok(malformed > 100, `malformed frames were counted (${malformed})`);

    const good = await signToken({ sub: 'good', join: ['room:*'], publish: ['room:*'] });
    const socket = await connect(sb.socketUrl, { params: { token: good } });
    try {
      const ch = socket.channel('room:after-fuzz', {});
      assert.equal((await join(ch)).status, 'ok');
      const got = next(ch, 'still_alive');
      assert.equal((await push(ch, 'still_alive', { ok: true })).status, 'ok');
      assert.deepEqual(await got, { ok: true });
    } finally {
      socket.disconnect();
    }
  } finally {
    const { code } = await sb.stop();
    assert.equal(code, 0, 'clean shutdown after fuzzing');
  }
});
