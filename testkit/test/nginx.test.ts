import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { startNginx } from '../src/index.js';

/** A WebSocket server that sends its name to each client and counts its open connections. */
function namedServer(name: string): Promise<{ port: number; open: () => number; close: () => void }> {
  return new Promise((resolve) => {
    const http = createServer((_req, res) => res.end(name));
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => ws.send(name));
    http.listen(0, '127.0.0.1', () => {
      const addr = http.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : 0,
        open: () => wss.clients.size,
        close: () => http.close(),
      });
    });
  });
}

test(
  'startNginx proxies WebSocket upgrades with ingress-nginx settings and reloads upstreams',
  { timeout: 120_000 },
  async () => {
    const servers = await Promise.all(['a', 'b'].map(namedServer));
    const nginx = await startNginx([servers[0]!.port]);
    const firstMessage = () =>
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/socket/websocket`);
        ws.once('message', (d) => {
          resolve(d.toString());
          ws.close();
        });
        ws.once('error', reject);
      });
    try {
      assert.equal(await firstMessage(), 'a');
      // A WebSocket still open keeps an old worker alive after the reload: it must no longer accept.
      const held = new WebSocket(`ws://127.0.0.1:${nginx.port}/socket/websocket`);
      await new Promise((resolve, reject) => held.once('message', resolve).once('error', reject));
      await nginx.setUpstreams([servers[1]!.port]);
      for (let i = 0; i < 5; i++) assert.equal(await firstMessage(), 'b', `connection ${i} after the reload`);
      held.close();
    } finally {
      await nginx.stop();
      servers.forEach((s) => s.close());
    }
  },
);

test(
  "balance 'least-request' (Envoy's default) sends new connections to the upstream with fewer open ones",
  { timeout: 120_000 },
  async () => {
    const servers = await Promise.all(['a', 'b'].map(namedServer));
    const nginx = await startNginx(
      servers.map((s) => s.port),
      { balance: 'least-request' },
    );
    const held: Array<{ ws: WebSocket; on: string }> = [];
    const connect = () =>
      new Promise<{ ws: WebSocket; on: string }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/socket/websocket`);
        ws.once('message', (d) => resolve({ ws, on: d.toString() }));
        ws.once('error', reject);
      });
    const until = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      for (let i = 0; i < 4; i++) held.push(await connect());
      const count = (name: string) =>
        held.filter((h) => h.on === name && h.ws.readyState === WebSocket.OPEN).length;
      assert.deepEqual([count('a'), count('b')], [2, 2], 'each new connection went to the one with fewer');
      // a's two close: round robin would alternate from here, least-request fills a first.
      for (const h of held.filter((x) => x.on === 'a')) h.ws.close();
      await until("a's connections closed", () => servers[0]!.open() === 0);
      const next = [await connect(), await connect()];
      held.push(...next);
      assert.deepEqual(
        next.map((n) => n.on),
        ['a', 'a'],
      );
    } finally {
      held.forEach((h) => h.ws.close());
      await nginx.stop();
      servers.forEach((s) => s.close());
    }
  },
);

test("balance 'random' is a configuration nginx runs", { timeout: 60_000 }, async () => {
  const server = await namedServer('r');
  const nginx = await startNginx([server.port], { balance: 'random' });
  try {
    assert.equal(await (await fetch(`${nginx.httpUrl}/api/x`)).text(), 'r');
  } finally {
    await nginx.stop();
    server.close();
  }
});
