// Fuzz: thousands of random and mutated frames (random bytes, truncated JSON, wrong arrays, wrong
// types, huge strings, deep nesting, binary garbage, valid-but-hostile messages) over several raw
// connections, one user each. Every frame is followed by a heartbeat and waited for, so each one
// reaches the server (a malformed frame closes its connection: frames sent behind it would be
// dropped unseen); the server's metrics must count exactly the frames it was sent. Afterwards the
// process must be alive, must have logged no error, and a well-behaved official client must still
// join and receive a broadcast. Run twice: memory broker without the rate limiter (every frame
// reaches the decoder) and Redis broker with limits on (the rate limiter bites). Seeded: FUZZ_SEED
// reproduces each lane's frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeClientBinaryPush } from '../../src/protocol/binary.js';
import { seededRandom, signToken, startRedis, startSwitchboard } from '../../../testkit/src/index.js';
import { connect, join, next, push } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const FRAMES = 6000;
const LANES = 6;

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

/**
 * What the lanes sent that the server must have judged (decoded, or refused as too large or rate
 * limited). A heartbeat whose connection closed with 4029 may have been the frame the limiter
 * closed on (judged) or have come after that close (dropped): counted in `unsure`.
 */
interface Sent {
  frames: number;
  joins: number;
  fuzz: number;
  heartbeats: number;
  unsure: number;
}

/**
 * Sends `count` fuzz frames over one connection at a time (reconnecting and joining room:a when the
 * server closed it), each followed by a heartbeat whose reply (or the close) shows it was judged.
 */
async function lane(socketUrl: string, token: string, next: () => Frame, count: number, sent: Sent) {
  let client: RawClient | null = null;
  let ref = 0;
  for (let i = 0; i < count; i++) {
    if (!client || client.ws.readyState !== client.ws.OPEN) {
      client = await openRaw(socketUrl, token);
      client.send(['1', 'j', 'room:a', 'phx_join', {}]);
      sent.frames++;
      sent.joins++;
    }
    const c = client;
    const f = next();
    c.ws.send(f.data, { binary: f.binary });
    sent.frames++;
    sent.fuzz++;
    const hb = `hb${++ref}`;
    c.send([null, hb, 'phoenix', 'heartbeat', {}]);
    // Answered: the heartbeat was judged too. Closed: the fuzz frame closed it, the heartbeat came
    // after the close and was dropped.
    const answered = await c
      .waitFor((fr) => fr[1] === hb, 'heartbeat reply', 30_000)
      .then(
        () => true,
        (err: unknown) => {
          if (c.ws.readyState === c.ws.OPEN) throw err; // open but silent: a real failure
          return false;
        },
      );
    if (answered) {
      sent.frames++;
      sent.heartbeats++;
    } else if ((await c.closed).code === 4029) sent.unsure++;
    c.frames.length = 0;
  }
  client?.ws.close();
}

/** Sums `name{label="v"}` samples of a Prometheus text exposition, by label value. */
function samples(metrics: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics.matchAll(new RegExp(`^${name}\\{\\w+="([^"]*)"\\} (\\S+)$`, 'gm'))) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const runs = [
  {
    name: 'memory broker, rate limiter off',
    env: { RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000' },
    redis: false,
  },
  {
    // The join, the frame and its heartbeat on a connection that survives a few frames exhaust a
    // burst of 3 refilled at 5/s: the limiter answers `rate limited` and closes persistent ones.
    name: 'Redis broker, limits on',
    env: { RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '3' },
    redis: true,
  },
];

for (const [runIndex, run] of runs.entries()) {
  test(`fuzz (${run.name}): ${FRAMES} random and mutated frames, each judged, do not hurt the server`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9) + runIndex;
    const redis = run.redis ? await startRedis() : null;
    const sb = await startSwitchboard({
      ...run.env,
      ...(redis ? { BROKER: 'redis', REDIS_URL: redis.url } : {}),
      LOG_LEVEL: 'warn',
    });
    try {
      const sent: Sent = { frames: 0, joins: 0, fuzz: 0, heartbeats: 0, unsure: 0 };
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: LANES }, async (_, i) => {
          const token = await signToken({ sub: `fuzzer-${i}`, join: ['room:*'], publish: ['room:*'] });
          const nextFrame = generator(seededRandom(seed * LANES + i));
          await lane(sb.socketUrl, token, nextFrame, FRAMES / LANES, sent);
        }),
      );
      console.log(
        `fuzz seed ${seed} (${run.name}): ${FRAMES} frames (${JSON.stringify(sent)}) in ${Date.now() - t0} ms`,
      );

      assert.equal(sb.proc.child.exitCode, null, `server died (seed ${seed}):\n${sb.output()}`);
      assert.equal((await fetch(`${sb.metricsUrl}/healthz`)).status, 200);
      const errors = sb
        .output()
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l));
      assert.deepEqual(errors, [], `server logged errors (seed ${seed})`);
      const metrics = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
      const received = samples(metrics, 'switchboard_messages_received_total');
      const rejected = samples(metrics, 'switchboard_frames_rejected_total');
      received.delete('control'); // WebSocket ping/pong: the fuzz sends none
      const judged =
        [...received.values()].reduce((a, b) => a + b, 0) +
        (rejected.get('too_large') ?? 0) +
        (rejected.get('rate_limited') ?? 0);
      assert.ok(
        judged >= sent.frames && judged <= sent.frames + sent.unsure,
        `every frame sent was judged (seed ${seed}): ${judged} judged, ${JSON.stringify(sent)}`,
      );
      assert.ok((rejected.get('malformed') ?? 0) > 100, `malformed frames were counted (seed ${seed})`);
      if (run.redis)
        assert.ok((rejected.get('rate_limited') ?? 0) > 0, `the rate limiter bit (seed ${seed})`);

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
      await redis?.stop();
      assert.equal(code, 0, 'clean shutdown after fuzzing');
    }
  });
}
