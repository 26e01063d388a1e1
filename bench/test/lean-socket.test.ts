// The load generator's hand-rolled WebSocket client against a byte-exact server: frames split at
// every possible boundary, 16-bit and 64-bit lengths, big frames skipped, ping answered, close seen.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { LeanSocket } from '../loadgen/lean-socket.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x80 | opcode, len])
      : len < 65536
        ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127, 0, 0, 0, 0]), u32(len)]);
  return Buffer.concat([head, payload]);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/**
 * `p`, or a rejection naming `what` after 45 s: a generous ceiling, since with 1-byte chunks the
 * server writes the 70 KB frame in 70,000 event-loop turns, which took over 10 s on a loaded CI machine.
 */
function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after 45 s waiting for ${what}`)), 45_000);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Unmasks the client's frames (all small here). */
function clientFrames(buf: Buffer): { opcode: number; payload: Buffer }[] {
  const out = [];
  let i = 0;
  while (i + 6 <= buf.length) {
    const len = buf[i + 1]! & 0x7f;
    assert.ok(buf[i + 1]! & 0x80, 'client frames are masked');
    assert.ok(len < 126);
    const mask = buf.subarray(i + 2, i + 6);
    const payload = Buffer.from(buf.subarray(i + 6, i + 6 + len)).map((v, k) => v ^ mask[k & 3]!);
    out.push({ opcode: buf[i]! & 0x0f, payload: Buffer.from(payload) });
    i += 6 + len;
  }
  return out;
}

/** A server that upgrades, then writes `stream` in `chunk`-byte pieces, one per event-loop turn (so reads split frames anywhere). */
async function withServer(stream: Buffer, chunk: number, onClientBytes: (b: Buffer) => void) {
  let ended: () => void = () => undefined;
  const clientEnded = new Promise<void>((r) => (ended = r));
  const sockets = new Set<Socket>();
  const server = createServer((sock: Socket) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('end', () => {
      sock.end();
      ended();
    });
    let head = '';
    sock.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return onClientBytes(d);
      head += d.toString('latin1');
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      sock.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      let at = 0;
      const next = () => {
        if (at >= stream.length || sock.destroyed) return;
        sock.write(stream.subarray(at, at + chunk));
        at += chunk;
        setImmediate(next);
      };
      next();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Closes the server and its connections, so a failed case cannot keep the test file alive.
  const close = () => {
    for (const sock of sockets) sock.destroy();
    server.close();
  };
  return { close, port: (server.address() as { port: number }).port, clientEnded };
}

test(
  'frames arrive intact whatever the read boundaries; big frames are skipped; ping is answered',
  { timeout: 60_000 },
  async () => {
    const small = Array.from({ length: 20 }, (_, i) => Buffer.from(`m${i}:${'x'.repeat(i * 13)}`));
    const medium = Buffer.from('M'.repeat(300)); // 16-bit length
    const big = Buffer.alloc(70_000, 'B'); // 64-bit length, above the skip threshold
    const stream = Buffer.concat([
      ...small.slice(0, 10).map((p) => serverFrame(0x1, p)),
      serverFrame(0x9, Buffer.from('pp')),
      serverFrame(0x1, medium),
      serverFrame(0x1, big),
      ...small.slice(10).map((p) => serverFrame(0x1, p)),
      serverFrame(0x8, Buffer.from([0x03, 0xe8])),
    ]);
    for (const chunk of [1, 2, 3, 7, 64, 1000, stream.length]) {
      let fromClient = Buffer.alloc(0);
      const { close, port, clientEnded } = await withServer(
        stream,
        chunk,
        (b) => (fromClient = Buffer.concat([fromClient, b])),
      );
      try {
        const got: string[] = [];
        // Settled and closed are asserted here, not inside the callbacks: a callback never called
        // (or whose throw the socket swallowed) would otherwise pass.
        let settled: (err: Error | null) => void = () => undefined;
        const settledWith = new Promise<Error | null>((r) => (settled = r));
        const closed = new Promise<number>((resolve) => {
          new LeanSocket({
            host: '127.0.0.1',
            port,
            path: '/',
            handler: {
              onOpen: (s) => s.markReady(),
              onData: (_s, b, st, e) => void got.push(b.toString('utf8', st, e)),
            },
            onSettled: (err) => settled(err),
            onClosed: (_s, code) => resolve(code),
          });
        });
        assert.equal(await within('onSettled', settledWith), null, `ready (chunk ${chunk})`);
        assert.equal(await within('onClosed', closed), 1000, `close code seen (chunk ${chunk})`);
        assert.deepEqual(
          got,
          [...small.slice(0, 10), medium, ...small.slice(10)].map(String),
          `chunk ${chunk}`,
        );
        await within('the client end', clientEnded);
        const frames = clientFrames(fromClient);
        assert.deepEqual(frames.at(-1), { opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) }, 'close echoed');
        const pongs = frames.filter((f) => f.opcode === 0xa);
        assert.deepEqual(
          pongs.map((f) => f.payload.toString()),
          ['pp'],
          `pong echoes the ping (chunk ${chunk})`,
        );
      } finally {
        close();
      }
    }
  },
);

test('a refused upgrade settles with the HTTP status', { timeout: 60_000 }, async () => {
  const server = createServer((sock) => sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const err = await new Promise<Error | null>((resolve) => {
    new LeanSocket({
      host: '127.0.0.1',
      port: (server.address() as { port: number }).port,
      path: '/',
      handler: { onOpen: () => undefined, onData: () => undefined },
      onSettled: resolve,
      onClosed: () => undefined,
    });
  });
  assert.match(String(err), /upgrade refused: HTTP\/1.1 401/);
  server.close();
});
