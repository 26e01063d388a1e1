// The TCP proxy forwards both ways until stalled; stalled, connections stay open and unanswered.
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { refusedPort, startTcpProxy } from '../src/index.js';

/** Sends `text` and resolves with the first answer, or null when none comes within `ms`. */
function ask(s: Socket, text: string, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    s.once('data', (d) => {
      clearTimeout(t);
      resolve(d.toString());
    });
    s.write(text);
  });
}

test(
  'startTcpProxy forwards until stall(), then answers nothing while the connection stays open',
  { timeout: 30_000 },
  async () => {
    const echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const proxy = await startTcpProxy((echo.address() as { port: number }).port);
    const client = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    try {
      assert.equal(await ask(client, 'ping', 5000), 'ping');
      proxy.stall();
      // No answer within a second is the stalled behaviour itself, not a wait before an assertion.
      assert.equal(await ask(client, 'again', 1000), null);
      assert.equal(client.destroyed, false, 'the connection is still open');
      const late = connect(proxy.port, '127.0.0.1');
      await new Promise<void>((r) => late.once('connect', () => r()));
      assert.equal(await ask(late, 'new', 1000), null, 'a connection accepted after stall() is stalled too');
      late.destroy();
    } finally {
      client.destroy();
      await proxy.close();
      echo.close();
    }
  },
);

test(
  'retarget(): a proxy in front of a refused port closes each connection unanswered, then forwards to the new target',
  { timeout: 30_000 },
  async () => {
    const proxy = await startTcpProxy(await refusedPort());
    const echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const down = connect(proxy.port, '127.0.0.1');
      down.on('error', () => undefined);
      await new Promise<void>((r) => down.once('close', () => r()));
      proxy.retarget((echo.address() as { port: number }).port);
      const up = connect(proxy.port, '127.0.0.1');
      await new Promise<void>((r) => up.once('connect', () => r()));
      assert.equal(await ask(up, 'back', 5000), 'back');
      up.destroy();
    } finally {
      await proxy.close();
      echo.close();
    }
  },
);
