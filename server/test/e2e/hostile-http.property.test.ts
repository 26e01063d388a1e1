// Property-based hostile HTTP (issue 12, section 2) against one real node, written byte for byte
// on raw TCP (fetch would normalise): hostile paths, query strings (`__proto__`, duplicate keys,
// 10,000 parameters, invalid percent-encoding, invalid UTF-8), headers (huge, duplicated, hostile
// Origin / Sec-WebSocket-Protocol / Authorization) and bodies (10 MB, 20,000 levels, invalid UTF-8,
// `__proto__` keys) to every route of both ports. Properties: every request gets an answer, never
// a 5xx, always one of the route's documented statuses; the node stays up, a bystander keeps
// receiving, RSS stays under RSS_BOUND_MIB. numRuns bounded so the file takes about a minute.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import {
  signToken,
  startNginx,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { within } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';
import { PROTOTYPE_NAMES, assertUp, hostileString, rssMiB } from '../support/hostile.js';

/** Stated bound on the node's RSS during and after the suite (baseline about 110 MiB). */
const RSS_BOUND_MIB = 300;

let node: SwitchboardProcess;
let bystander: RawClient;
let rssPeak = 0;

before(async () => {
  node = await startSwitchboard({ LOG_LEVEL: 'error', DEMO_TOKENS: 'true' }, { readyTimeoutMs: 60_000 });
  bystander = await openRaw(node.socketUrl, await signToken({ sub: 'bystander', join: ['room:*'] }));
  bystander.send(['1', '1', 'room:bystander', 'phx_join', {}]);
  await bystander.waitFor((f) => f[1] === '1', 'bystander join');
});
after(async () => node?.stop());

/** Writes one request as raw bytes and reads the status line (0 when the socket closed unanswered). */
function rawRequest(port: number, head: Buffer, body: Buffer): Promise<number> {
  return within(
    20_000,
    'raw request',
    new Promise<number>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const done = () => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
        resolve(m ? Number(m[1]) : 0);
        socket.destroy();
      };
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        // An upgrade that succeeded stays open: the status line is all we need.
        if (Buffer.concat(chunks).includes('\r\n\r\n')) done();
      });
      socket.on('error', done); // a reset after the answer (e.g. 413 before the body is read)
      socket.on('close', done);
      // Written in 16 KiB pieces, pausing after each piece of the head and before the body, and
      // stopping once an answer arrives: an early answer (413, 431, 401, 405) is then read before
      // the server closes on the unread rest, which would reset the connection and lose it.
      let answered = false;
      socket.once('data', () => (answered = true));
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const put = async (bytes: Buffer, gapMs: number) => {
        for (let at = 0; at < bytes.length && !answered && !socket.destroyed; at += 16_384) {
          if (!socket.write(bytes.subarray(at, at + 16_384))) {
            await new Promise((r) => socket.once('drain', r).once('close', r));
          }
          if (gapMs > 0) await pause(gapMs);
        }
      };
      void (async () => {
        await put(head, 20);
        if (body.length > 0) await put(body, 0);
      })();
    }),
  );
}

type Route = 'socket' | 'broadcast' | 'history' | 'demo' | 'static' | 'healthz' | 'readyz' | 'metrics';
const OPS = new Set<Route>(['healthz', 'readyz', 'metrics']);
const BASE: Record<Route, string> = {
  socket: '/socket/websocket',
  broadcast: '/api/broadcast',
  history: '/api/topics/room:prop/messages',
  demo: '/demo/token',
  static: '/vendor/phoenix.mjs',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
};
/** Documented answers (docs/security.md, docs/protocol.md), besides 400 (malformed request or target), 404, 405 and 431. */
const DOCUMENTED: Record<Route, number[]> = {
  socket: [101, 401, 403, 426, 429],
  broadcast: [202, 401, 413],
  history: [200, 401],
  demo: [200],
  static: [200],
  healthz: [200],
  readyz: [200],
  metrics: [200],
};

const pathSuffix = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  fc.constantFrom(...PROTOTYPE_NAMES).map((n) => `/${n}`),
  fc.constantFrom(
    '/..',
    '/./x',
    '/%2e%2e',
    '%5c..',
    '\\..\\..',
    '//x',
    '/%zz',
    '/%',
    '/%ff%fe',
    '/%c0%af',
    '#x',
    '/é',
    '/\u{1F600}',
  ),
);
const queryPart = fc.oneof(
  hostileString.map((s) => `${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
  fc.constantFrom(
    '__proto__=1',
    '__proto__[x]=1',
    'constructor.prototype.x=1',
    'user=a&user=b',
    'since=1&since=x',
    'limit=-1',
    'limit=1e400',
    'since=99999999999999999999',
    'vsn=1.0.0',
    'vsn=2.0.0',
    'token=__proto__',
    '%zz=%',
    '%ff%fe=%c0',
    'user=%E9',
    'a=%00',
  ),
);
const query = fc.oneof(
  fc.constant(''),
  fc.array(queryPart, { minLength: 1, maxLength: 8 }).map((ps) => `?${ps.join('&')}`),
  fc.constant('?<10k>'), // 10,000 parameters, expanded in encode
  fc.constant('?user=alice'),
);
const headerValue = fc.oneof(
  hostileString.map((s) => Buffer.from(s, 'utf8').toString('latin1')),
  fc.integer({ min: 8_000, max: 20_000 }).map((n) => 'x'.repeat(n)), // huge (16 KiB head limit)
  fc.constantFrom(
    '__proto__',
    'null',
    '',
    'Bearer',
    'Bearer __proto__',
    `Bearer ${'A'.repeat(5000)}`,
    'https://evil.example',
    'file://',
    'phoenix, __proto__',
    '\xff\xfe',
  ),
);
const header = fc.tuple(
  fc.constantFrom(
    'origin',
    'authorization',
    'sec-websocket-protocol',
    'content-type',
    'x-forwarded-for',
    '__proto__',
    'constructor',
    'cookie',
    'content-length',
  ),
  headerValue,
);
const BODIES: Record<string, () => Buffer> = {
  none: () => Buffer.alloc(0),
  '10MB': () => Buffer.alloc(10 * 1024 * 1024, 0x61),
  deep: () =>
    Buffer.from(`{"topic":"room:prop","event":"e","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}`),
  utf8: () => Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]),
  proto: () =>
    Buffer.from(
      '{"topic":"room:prop","event":"e","payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}},"__proto__":{"x":1}}',
    ),
};
const bodyKind = fc.constantFrom(...Object.keys(BODIES));

interface Case {
  route: Route;
  method: string;
  suffix: string;
  query: string;
  headers: [string, string][];
  duplicate: boolean;
  apiToken: boolean;
  upgrade: boolean;
  body: string;
}
const requestCase: fc.Arbitrary<Case> = fc.record({
  route: fc.constantFrom<Route>(...(Object.keys(BASE) as Route[])),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', '__proto__'),
  suffix: pathSuffix,
  query,
  headers: fc.array(header, { maxLength: 4 }),
  duplicate: fc.boolean(),
  apiToken: fc.boolean(),
  upgrade: fc.boolean(),
  body: bodyKind,
});

function encode(c: Case, token: string, body: Buffer): Buffer {
  const lines = [
    `${c.method} ${BASE[c.route]}${c.suffix}${c.query} HTTP/1.1`,
    'host: switchboard.example.com',
  ];
  if (c.apiToken) lines.push(`authorization: Bearer ${testSecrets.apiToken}`);
  if (c.route === 'socket' && c.upgrade) {
    lines.push('upgrade: websocket', 'connection: Upgrade', 'sec-websocket-version: 13');
    lines.push(
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
      `sec-websocket-protocol: phoenix, base64url.bearer.phx.${Buffer.from(token).toString('base64url')}`,
    );
  } else lines.push('connection: close');
  for (const [k, v] of c.headers) {
    if (k === 'content-length') continue; // set from the body below
    lines.push(`${k}: ${v}`);
    if (c.duplicate) lines.push(`${k}: ${v}`);
  }
  if (body.length > 0) lines.push(`content-length: ${body.length}`, 'content-type: application/json');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

async function checkHealthy(): Promise<void> {
  await assertUp(node);
  rssPeak = Math.max(rssPeak, rssMiB(node));
  assert.ok(rssPeak < RSS_BOUND_MIB, `RSS ${rssPeak} MiB >= ${RSS_BOUND_MIB} MiB`);
  assert.equal(bystander.ws.readyState, bystander.ws.OPEN, 'the bystander is still connected');
}

/** Runs `numRuns` hostile requests at `routes` through `portOf`; `extra` are the statuses a proxy may add. */
async function hostileRequests(
  routes: Route[],
  portOf: (r: Route) => number,
  extra: number[],
  numRuns: number,
): Promise<void> {
  const token = await signToken({ sub: 'prober', join: ['room:*'] });
  const statuses = new Map<number, number>();
  rssPeak = rssMiB(node);
  const startRss = rssPeak;
  let lastFailure = '';
  const cases = requestCase.filter((c) => routes.includes(c.route));
  await fc
    .assert(
      fc.asyncProperty(cases, async (c) => {
        const body = BODIES[c.body]!();
        const head = encode(c, token, body);
        const status = await rawRequest(portOf(c.route), head, body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const allowed = [400, 404, 405, 431, ...DOCUMENTED[c.route], ...extra];
        // A body the server does not read (10 MB) may still be arriving when it answers and closes:
        // the kernel then resets the connection and can drop the answer before this client reads it.
        // The same holds for a head over Node's 16 KiB limit (431) and any body a route does not read
        // (405, 404, ...): such answers are checked where the client does read them (last test).
        const unread = c.body !== 'none' || head.length > 16_384;
        if (unread) allowed.push(0);
        try {
          assert.ok(
            allowed.includes(status),
            `${c.method} ${c.route}${c.suffix.slice(0, 40)}: status ${status}`,
          );
          await checkHealthy();
        } catch (err) {
          // What failed, with the case's long strings cut (fast-check prints them whole).
          const brief = JSON.stringify(c, (_k, v: unknown) =>
            typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}...(${v.length})` : v,
          );
          lastFailure = `${(err as Error).message} for ${brief}`;
          throw err;
        }
      }),
      { numRuns },
    )
    .catch((err: Error) => {
      throw new Error(`${lastFailure}\n${err.message.slice(0, 2000)}`);
    });
  console.log(`statuses ${JSON.stringify([...statuses].sort())}; RSS ${startRss} -> peak ${rssPeak} MiB`);
}

test('hostile HTTP requests to every route get a documented status, never a 5xx; node up, bystander served, RSS bounded', async () => {
  const port = (r: Route) => Number(new URL(OPS.has(r) ? node.metricsUrl : node.httpUrl).port);
  await hostileRequests(Object.keys(BASE) as Route[], port, [], 600);

  // Every route still answers an ordinary request, and the bystander still receives.
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ topic: 'room:bystander', event: 'still', payload: { ok: true } }),
  });
  assert.equal(res.status, 202);
  await bystander.waitFor((f) => f[3] === 'still', 'broadcast to the bystander');
  assert.equal((await fetch(`${node.httpUrl}/demo/token?user=alice`)).status, 200);
  assert.equal((await fetch(`${node.metricsUrl}/readyz`)).status, 200);
});

test('the same through nginx with the Ingress locations (/socket, /api): never a 5xx', async () => {
  const nginx = await startNginx([node.port], { paths: ['/socket', '/api'] });
  try {
    // nginx answers some requests itself: 413 (client_max_body_size 1m), 414 and 400 (its header
    // buffers), 404 outside the Ingress paths.
    await hostileRequests(
      ['socket', 'broadcast', 'history', 'demo', 'static'],
      () => nginx.port,
      [413, 414],
      200,
    );
  } finally {
    await nginx.stop();
  }
  await checkHealthy();
});

test('the documented answer to each hostile body on POST /api/broadcast', async () => {
  const post = (body: Buffer, auth = true) => {
    const head = [
      'POST /api/broadcast HTTP/1.1',
      'host: switchboard.example.com',
      'connection: close',
      'content-type: application/json',
      `content-length: ${body.length}`,
      ...(auth ? [`authorization: Bearer ${testSecrets.apiToken}`] : []),
    ];
    return rawRequest(Number(new URL(node.httpUrl).port), Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body);
  };
  const deep = `{"topic":"room:prop","event":"e","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
  const big = await post(Buffer.alloc(10 * 1024 * 1024, 0x61));
  assert.equal(big, 413, `10 MB: ${big}`);
  assert.equal(await post(Buffer.from(deep)), 400, '20,000 levels');
  assert.equal(await post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, 'invalid UTF-8');
  assert.equal(
    await post(Buffer.from('{"topic":"room:prop","event":"e","payload":{}}'), false),
    401,
    'no token',
  );
  const proto =
    '{"topic":"room:prop","event":"e","payload":{"__proto__":{"polluted":true}},"__proto__":{"x":1}}';
  assert.equal(await post(Buffer.from(proto)), 202, '__proto__ keys');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  await checkHealthy();
});
