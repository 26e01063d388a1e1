import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { startNginx } from '../src/index.js';

test(
  'startNginx proxies WebSocket upgrades with ingress-nginx settings and reloads upstreams',
  { timeout: 120_000 },
  async () => {
    const servers = await Promise.all(
      ['a', 'b'].map(
        (name) =>
          new Promise<{ port: number; close: () => void }>((resolve) => {
            const http = createServer((_req, res) => res.end(name));
            const wss = new WebSocketServer({ server: http });
            wss.on('connection', (ws) => ws.send(name));
            http.listen(0, '127.0.0.1', () => {
              const addr = http.address();
              resolve({ port: typeof addr === 'object' && addr ? addr.port : 0, close: () => http.close() });
            });
          }),
      ),
    );
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
