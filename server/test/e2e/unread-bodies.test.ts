// An answer given without reading the request's body (a refused upgrade, a route that takes no body,
// a 401/405/413) must reach the client, directly and through nginx: closing on unread bytes resets
// the TCP connection, and nginx, still sending the body upstream, then answers 502 (seen in CI:
// OPTIONS upgrade and GET /api/broadcast with a 40 KB body). Each case is tried many times with a
// 900 KB body (under nginx's client_max_body_size), which the node cannot read in one go.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import {
  signToken,
  testSecrets,
  startNginx,
  startSwitchboard,
  type NginxProxy,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { within } from '../support/phoenix.js';

const TRIES = 60;
const BODY = Buffer.alloc(900_000, 0x61);

let node: SwitchboardProcess;
let nginx: NginxProxy;
let token: string;

before(async () => {
  node = await startSwitchboard({ LOG_LEVEL: 'error' });
  nginx = await startNginx([node.port], { paths: ['/socket', '/api'] });
  token = await signToken({ sub: 'refused', join: ['room:*'] });
});
after(async () => {
  await nginx?.stop();
  await node?.stop();
});

/** Writes head and body at once and reads the answer's head (status 0: closed or reset unanswered). */
function send(port: number, head: string): Promise<{ status: number; head: string }> {
  return within(
    20_000,
    'refused upgrade',
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const done = () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        resolve({ status: m ? Number(m[1]) : 0, head: text.split('\r\n\r\n')[0] ?? '' });
        socket.destroy();
      };
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        if (Buffer.concat(chunks).includes('\r\n\r\n')) done();
      });
      socket.on('error', done);
      socket.on('close', done);
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), BODY]));
    }),
  );
}

function requestHead(method: string, target: string, headers: Record<string, string>): string {
  const all = { host: 'switchboard.example.com', 'content-length': String(BODY.length), ...headers };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

function upgradeHead(method: string, headers: Record<string, string>): string {
  return requestHead(method, '/socket/websocket', {
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  });
}

const bearer = () => `phoenix, base64url.bearer.phx.${Buffer.from(token).toString('base64url')}`;
const CASES: { name: string; status: number; head: () => string; header?: RegExp }[] = [
  {
    name: 'OPTIONS (method)',
    status: 405,
    head: () => upgradeHead('OPTIONS', { 'sec-websocket-protocol': bearer() }),
    header: /^allow: GET$/im,
  },
  { name: 'no token', status: 401, head: () => upgradeHead('GET', {}) },
  {
    name: 'bad Sec-WebSocket-Key (ws handshake check)',
    status: 400,
    head: () => upgradeHead('GET', { 'sec-websocket-protocol': bearer(), 'sec-websocket-key': 'short' }),
  },
  {
    name: 'bad Sec-WebSocket-Version',
    status: 400,
    head: () => upgradeHead('GET', { 'sec-websocket-protocol': bearer(), 'sec-websocket-version': '7' }),
    header: /^sec-websocket-version: 13, 8$/im,
  },
  { name: 'GET /api/broadcast (method)', status: 405, head: () => requestHead('GET', '/api/broadcast', {}) },
  {
    name: 'POST /api/broadcast without the API token',
    status: 401,
    head: () => requestHead('POST', '/api/broadcast', { 'content-type': 'application/json' }),
  },
  {
    name: 'POST /api/broadcast over MAX_FRAME_BYTES',
    status: 413,
    head: () =>
      requestHead('POST', '/api/broadcast', {
        authorization: `Bearer ${testSecrets.apiToken}`,
        'content-type': 'application/json',
      }),
  },
  {
    name: 'GET /api/topics/:topic/messages (a route that takes no body)',
    status: 401,
    head: () => requestHead('GET', '/api/topics/room:x/messages', {}),
  },
  { name: 'unknown path under /api', status: 404, head: () => requestHead('GET', '/api/nothing', {}) },
];

for (const c of CASES) {
  test(`${c.name}: answered ${c.status} every time, directly and through nginx (never 0 or 502)`, async () => {
    for (const [via, port] of [
      ['direct', node.port],
      ['nginx', nginx.port],
    ] as const) {
      const seen = new Map<number, number>();
      for (let i = 0; i < TRIES; i++) {
        const answer = await send(port, c.head());
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        if (c.header && via === 'direct') assert.match(answer.head, c.header);
      }
      assert.deepEqual([...seen], [[c.status, TRIES]], `${via}: statuses ${JSON.stringify([...seen])}`);
    }
    // The node is still there and serving.
    assert.equal((await fetch(`${node.metricsUrl}/readyz`)).status, 200);
  });
}
