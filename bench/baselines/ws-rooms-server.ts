/**
 * Baseline: a plain `ws` rooms server, as most people would write one. Each message a connection
 * sends goes to every subscriber of its room with one `ws.send` each (ws frames it per socket and
 * writes it at once). Subscribers more than MAX_QUEUED_BYTES behind are closed with 4008.
 *
 * Connect to `/?room=<name>&role=sub|pub`; `POST /drain` closes every subscriber (drain.ts). Env: PORT (required), HOST (127.0.0.1).
 */
import { createServer } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { handleDrain, SERVICE_RESTART } from './drain.js';
import { listenAddress, MAX_QUEUED_BYTES, readRoomsRequest, Rooms } from './rooms-request.js';

const { port, host } = listenAddress();
const rooms = new Rooms<WebSocket>();
const subscribers = new Set<WebSocket>();
const closeSubscribers = () => {
  for (const ws of subscribers) ws.close(SERVICE_RESTART, 'service restart');
  return subscribers.size;
};
const http = createServer((req, res) => {
  if (!handleDrain(req, res, closeSubscribers)) res.writeHead(426).end('websocket only\n');
});
const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 });

function broadcast(room: string, data: RawData): void {
  for (const client of rooms.members(room)) {
    if (client.bufferedAmount > MAX_QUEUED_BYTES) client.close(4008, 'slow consumer');
    else client.send(data, { binary: false });
  }
}

wss.on('connection', (ws, req) => {
  const r = readRoomsRequest(req);
  if (typeof r === 'string') return ws.close(4400, r);
  if (r.subscriber && !rooms.join(r.room, ws)) return ws.close(4429, 'too many rooms');
  if (r.subscriber) subscribers.add(ws);
  ws.on('message', (data) => broadcast(r.room, data));
  ws.on('close', () => {
    rooms.leave(r.room, ws);
    subscribers.delete(ws);
  });
  ws.on('error', () => ws.terminate());
});
// The accept backlog Switchboard listens with by default (LISTEN_BACKLOG): same care for every server.
http.listen({ port, host, backlog: 4096 }, () =>
  console.log(`plain ws rooms server listening on ${host}:${port}`),
);
process.on('SIGTERM', () => process.exit(0));
