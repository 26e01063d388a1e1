/**
 * Baseline: Socket.IO 4, websocket transport only (no long-polling upgrade dance), otherwise as
 * most users deploy it. Clients `join` a room (acknowledged) and
 * `publish` to a room; the server emits to the room with `io.to(room).emit`. With REDIS_URL set it
 * uses `@socket.io/redis-adapter`, so a publisher on another node reaches this node's room.
 *
 * Env: PORT (required), HOST (127.0.0.1), REDIS_URL (optional).
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be a TCP port number, e.g. PORT=4200');
const host = process.env.HOST ?? '127.0.0.1';

const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
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

http.listen(port, host, () => console.log(`socket.io server listening on ${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));
