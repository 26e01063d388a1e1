// The canary's move Job (canary/move-share.ts): its environment checks, and that it posts the share to
// every address the stable pods' name resolves to, on one port, as pods behind a headless Service are.
// Two HTTP servers on 127.0.0.1 and 127.0.0.2 (both loopback) stand for two pods' /api/drain.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { moveShare, readMoveShareConfig } from '../../src/canary/move-share.js';

interface Seen {
  address: string;
  authorization?: string;
  body: string;
}

async function pod(host: string, port: number, seen: Seen[], status = 202): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ address: host, authorization: req.headers.authorization, body });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        status === 202
          ? JSON.stringify({ status: 'draining', closing: 7, window_ms: 2000 })
          : '{"error":"busy"}',
      );
    });
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return server;
}

const env = {
  STABLE_PODS: 'switchboard-stable',
  API_TOKEN: 'tok',
  MOVE_PERCENT: '10',
  MOVE_WINDOW_MS: '2000',
};

test('the environment is validated, naming the variable', () => {
  assert.deepEqual(readMoveShareConfig(env), {
    host: 'switchboard-stable',
    port: 4000,
    apiToken: 'tok',
    percent: 10,
    windowMs: 2000,
  });
  assert.throws(
    () => readMoveShareConfig({ ...env, MOVE_PERCENT: '0' }),
    /MOVE_PERCENT: "0" must be a whole number from 1 to 100/,
  );
  assert.throws(() => readMoveShareConfig({ ...env, MOVE_PERCENT: '12.5' }), /MOVE_PERCENT/);
  assert.throws(() => readMoveShareConfig({ ...env, MOVE_WINDOW_MS: '600001' }), /MOVE_WINDOW_MS/);
  assert.throws(
    () => readMoveShareConfig({ ...env, STABLE_PODS: 'http://x/' }),
    /STABLE_PODS: .* is not a host name/,
  );
  assert.throws(() => readMoveShareConfig({ ...env, API_TOKEN: ' ' }), /API_TOKEN is empty/);
  assert.throws(() => readMoveShareConfig({ ...env, STABLE_PORT: '70000' }), /STABLE_PORT/);
});

test('posts the share with the token to every resolved pod, on the same port', async () => {
  const seen: Seen[] = [];
  const first = await pod('127.0.0.1', 0, seen);
  const port = (first.address() as AddressInfo).port;
  const second = await pod('127.0.0.2', port, seen);
  try {
    const config = { ...readMoveShareConfig(env), port };
    const moves = await moveShare(config, async (host) => {
      assert.equal(host, 'switchboard-stable');
      return ['127.0.0.1', '127.0.0.2', '127.0.0.1'];
    });
    assert.deepEqual(
      moves.map((m) => [m.address, m.closing]),
      [
        ['127.0.0.1', 7],
        ['127.0.0.2', 7],
      ],
    );
    assert.deepEqual(seen.map((s) => s.address).sort(), ['127.0.0.1', '127.0.0.2']);
    for (const s of seen) {
      assert.equal(s.authorization, 'Bearer tok');
      assert.deepEqual(JSON.parse(s.body), { percent: 10, window_ms: 2000 });
    }
  } finally {
    first.close();
    second.close();
  }
});

test('a pod that refuses is reported and the others still get the share; no address is an error', async () => {
  const seen: Seen[] = [];
  const ok = await pod('127.0.0.1', 0, seen);
  const port = (ok.address() as AddressInfo).port;
  const busy = await pod('127.0.0.2', port, seen, 409);
  try {
    const moves = await moveShare({ ...readMoveShareConfig(env), port }, async () => [
      '127.0.0.2',
      '127.0.0.1',
    ]);
    assert.match(moves[0]!.error ?? '', /HTTP 409/);
    assert.equal(moves[1]!.closing, 7);
    await assert.rejects(
      moveShare({ ...readMoveShareConfig(env), port }, async () => []),
      /resolves to no address: no stable pod is ready/,
    );
  } finally {
    ok.close();
    busy.close();
  }
});
