// Load-test configuration, exactly: the built-in defaults, each variable's bounds (inclusive) and
// each problem's wording, which is what a person running `npm run loadtest` reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseDuration, publicConfig, readConfig } from '../lib/config.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';

function problems(env: Record<string, string>): string[] {
  try {
    readConfig('s', { TOKEN: jwt, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'ERR_LOADTEST_CONFIG');
    assert.equal(err.name, 'ConfigError');
    assert.equal(
      err.message,
      `invalid load test configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return err.problems;
  }
  return [];
}

test('the built-in defaults', () => {
  assert.deepEqual(readConfig('storm', { TOKEN: jwt }), {
    url: 'ws://127.0.0.1:4000/socket',
    urls: ['ws://127.0.0.1:4000/socket'],
    tokens: [jwt],
    vus: 10,
    duration: '30s',
    durationMs: 30_000,
    gracefulStop: '10s',
    gracefulStopMs: 10_000,
    rooms: 1,
    topicPrefix: 'room:load',
    publishersPerRoom: 1,
    publishIntervalMs: 1000,
    payloadBytes: 64,
    sessionMs: 0,
    drainMs: 1000,
    holdMs: 500,
    cycles: 3,
    heartbeatMs: 30_000,
    timeoutMs: 10_000,
    summaryPath: 'storm-summary.json',
    recover: true,
    honourHint: true,
  });
});

test('RECOVER and HONOUR_HINT take true or false', () => {
  const c = readConfig('s', { TOKEN: jwt, RECOVER: 'false', HONOUR_HINT: 'FALSE' });
  assert.deepEqual([c.recover, c.honourHint], [false, false]);
  assert.deepEqual(problems({ RECOVER: 'no' }), ['RECOVER="no" is invalid: set RECOVER to true or false']);
});

test('blank variables fall back to the defaults; values are trimmed', () => {
  const c = readConfig(
    's',
    { TOKEN: ` ${jwt} `, VUS: '  ', ROOMS: ' 4 ', SUMMARY_PATH: 'out.json' },
    { VUS: '3' },
  );
  assert.deepEqual([c.tokens, c.vus, c.rooms, c.summaryPath], [[jwt], 3, 4, 'out.json']);
  assert.deepEqual(readConfig('s', { TOKEN: jwt, TOKENS: `${jwt}, ,${jwt}x` }).tokens, [jwt, jwt, `${jwt}x`]);
  assert.deepEqual(publicConfig(readConfig('s', { TOKENS: `${jwt},${jwt}` })).tokens, 2);
});

test('whole numbers: each bound is inclusive, and the problem names the range', () => {
  const bounds: [string, number, number][] = [
    ['VUS', 1, 100_000],
    ['ROOMS', 1, 100_000],
    ['PUBLISHERS', 0, 100_000],
    ['PAYLOAD_BYTES', 0, 1_000_000],
    ['CYCLES', 1, 1_000_000],
  ];
  for (const [key, min, max] of bounds) {
    assert.deepEqual(problems({ [key]: String(min) }), [], `${key}=${min}`);
    assert.deepEqual(problems({ [key]: String(max) }), [], `${key}=${max}`);
    const expected = (v: string) => [
      `${key}="${v}" is invalid: set ${key} to a whole number from ${min} to ${max}`,
    ];
    assert.deepEqual(problems({ [key]: String(max + 1) }), expected(String(max + 1)));
    if (min > 0) assert.deepEqual(problems({ [key]: String(min - 1) }), expected(String(min - 1)));
    assert.deepEqual(problems({ [key]: '1.5' }), expected('1.5'));
  }
  assert.equal(readConfig('s', { TOKEN: jwt, VUS: '100000' }).vus, 100_000);
});

test('durations: each minimum is inclusive, and the problem shows examples', () => {
  const minimums: [string, number][] = [
    ['DURATION', 1000],
    ['GRACEFUL_STOP', 0],
    ['PUBLISH_INTERVAL', 1],
    ['SESSION', 0],
    ['DRAIN', 0],
    ['HOLD', 0],
    ['HEARTBEAT', 100],
    ['TIMEOUT', 10],
  ];
  for (const [key, min] of minimums) {
    assert.deepEqual(problems({ [key]: `${min}ms` }), [], `${key}=${min}ms`);
    const expected = (v: string) => [
      `${key}="${v}" is invalid: set ${key} to a k6 duration of at least ${min} ms, such as 500ms, 30s or 1m30s`,
    ];
    if (min > 0) assert.deepEqual(problems({ [key]: `${min - 1}ms` }), expected(`${min - 1}ms`));
    assert.deepEqual(problems({ [key]: '5 minutes' }), expected('5 minutes'));
  }
  const c = readConfig('s', {
    TOKEN: jwt,
    DURATION: '1m30s',
    GRACEFUL_STOP: '2s',
    SESSION: '5s',
    DRAIN: '3s',
    HOLD: '4s',
    HEARTBEAT: '6s',
    TIMEOUT: '7s',
    PUBLISH_INTERVAL: '8s',
  });
  assert.deepEqual(
    [
      c.duration,
      c.durationMs,
      c.gracefulStop,
      c.gracefulStopMs,
      c.sessionMs,
      c.drainMs,
      c.holdMs,
      c.heartbeatMs,
      c.timeoutMs,
      c.publishIntervalMs,
    ],
    ['1m30s', 90_000, '2s', 2000, 5000, 3000, 4000, 6000, 7000, 8000],
  );
  assert.equal(parseDuration(' 2m '), 120_000);
  assert.equal(parseDuration('1h1m1s1ms'), 3_661_001);
  assert.equal(parseDuration('0.0015s'), 2, 'rounded to whole milliseconds');
});

test('URL, token and topic prefix problems say what to set', () => {
  const urlProblem = (v: string) =>
    `URL=${JSON.stringify(v)} is invalid: set URL to the socket endpoint, e.g. ws://127.0.0.1:4000/socket (or a comma-separated list of endpoints to spread VUs over)`;
  for (const bad of ['http://h/socket', 'ws://', 'ws://a b/socket', 'ws://h/socket,ftp://x', ' , '])
    assert.deepEqual(problems({ URL: bad }), [urlProblem(bad.trim())], bad);
  assert.deepEqual(problems({ URL: 'wss://h.example' }), []);
  assert.deepEqual(problems({ URL: 'xws://h/socket' }), [urlProblem('xws://h/socket')]);
  assert.deepEqual(problems({ URL: 'ws://h/socket x' }), [urlProblem('ws://h/socket x')]);
  let missing: string[] = [];
  try {
    readConfig('s', {});
  } catch (err) {
    missing = (err as ConfigError).problems;
  }
  assert.deepEqual(missing, [
    'TOKEN is missing: set TOKEN to a JWT whose join/publish claims cover TOPIC_PREFIX (or TOKENS to a comma-separated list, one per VU)',
  ]);
  const notJwt = 'TOKEN/TOKENS holds a value that is not a JWT (header.payload.signature): set a signed JWT';
  assert.deepEqual(problems({ TOKENS: 'abc,def' }), [notJwt], 'said once, however many tokens are bad');
  assert.deepEqual(problems({ TOKEN: 'a.b.c d' }), [notJwt]);
  assert.deepEqual(problems({ TOKEN: 'x a.b.c' }), [notJwt]);
  assert.deepEqual(problems({ TOKEN: 'a.b.' }), [], 'an unsigned-looking JWT still has three parts');
  const prefix = (v: string) =>
    `TOPIC_PREFIX=${JSON.stringify(v)} is invalid: use letters, digits and : . _ - only, e.g. room:load`;
  assert.deepEqual(problems({ TOPIC_PREFIX: 'room/x' }), [prefix('room/x')]);
  assert.deepEqual(problems({ TOPIC_PREFIX: 'p'.repeat(101) }), [prefix('p'.repeat(101))]);
  assert.deepEqual(problems({ TOPIC_PREFIX: 'x room' }), [prefix('x room')]);
  assert.deepEqual(problems({ TOPIC_PREFIX: 'room x' }), [prefix('room x')]);
  assert.deepEqual(problems({ TOPIC_PREFIX: `a:b.c_d-${'p'.repeat(92)}` }), []);
});

test('every mistake is reported at once', () => {
  assert.equal(problems({ VUS: '0', DURATION: 'x', URL: 'http://h', TOPIC_PREFIX: '!' }).length, 4);
});
