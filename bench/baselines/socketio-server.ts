/**
 * Baseline: Socket.IO 4, websocket transport only (no long-polling upgrade dance), otherwise as
 * most users deploy it. Clients `join` a room (acknowledged) and
 * `publish` to a room; the server emits to the room with `io.to(room).emit`. With REDIS_URL set it
 * uses `@socket.io/redis-adapter`, so a publisher on another node reaches this node's room.
 *
 * With CONNECTION_STATE_RECOVERY=1 (workload D) it enables Socket.IO's connection state recovery
 * (4.6+: a client that reconnects within 2 minutes gets its rooms back and the packets it missed).
 * `POST /drain` closes every subscriber's connection (drain.ts): the engine's close, a reason the
 * recovery covers ("forced close"); publishers (`role=pub` in the query) stay.
 *
 * Env: PORT (required), HOST (127.0.0.1), REDIS_URL (optional), CONNECTION_STATE_RECOVERY (optional).
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { handleDrain } from './drain.js';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be a TCP port number, e.g. PORT=4200');
const host = process.env.HOST ?? '127.0.0.1';

const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  ...(process.env.CONNECTION_STATE_RECOVERY === '1' ? { connectionStateRecovery: {} } : {}),
});
// Added after Socket.IO's own handler, which answers only under /socket.io/.
http.on('request', (req, res) => {
  if (req.url?.startsWith('/socket.io/')) return;
  if (!handleDrain(req, res, closeSubscribers)) res.writeHead(404).end();
});

function closeSubscribers(): number {
  let n = 0;
  for (const socket of io.of('/').sockets.values()) {
    if (socket.handshake.query.role === 'pub') continue;
    socket.conn.close();
    n++;
  }
  return n;
}
if (process.env.REDIS_URL) {
  const pub = new Redis(process.env.REDIS_URL);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}

io.on('connection', (socket) => {
  socket.on('join', (room: unknown, ack?: (ok: boolean) => void) => {
    if (typeof room !== 'string') return ack?.(false);
    void socket.join(room);
    ack?.(true);
  });
  socket.on('publish', (room: unknown, payload: unknown) => {
    if (typeof room === 'string') io.to(room).emit('msg', payload);
  });
});

// The accept backlog Switchboard listens with by default (LISTEN_BACKLOG): same care for every server.
http.listen({ port, host, backlog: 4096 }, () =>
  console.log(`socket.io server listening on ${host}:${port}`),
);
process.on('SIGTERM', () => process.exit(0));
