/**
 * Baseline: the tuned `ws` reference, the design's limit on this runtime. Like the plain rooms
 * server, but each message is framed once (one header + payload buffer for the whole room) and
 * every socket's frames of one event-loop turn leave in a single write after the turn
 * (setImmediate), so a socket costs one syscall per turn however many messages it gets.
 * `ws` still does the handshake and reads client frames; writes go to the TCP socket directly,
 * whole frames only, so they never interleave with ws's own control frames.
 *
 * Connect to `/?room=<name>&role=sub|pub`; `POST /drain` closes every subscriber (drain.ts). Env: PORT (required), HOST (127.0.0.1).
 */
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData } from 'ws';
import { handleDrain, SERVICE_RESTART } from './drain.js';
import { listenAddress, MAX_QUEUED_BYTES, readRoomsRequest, Rooms } from './rooms-request.js';

interface Subscriber {
  socket: Duplex;
  /** Frames waiting for the end of the turn; bounded by MAX_QUEUED_BYTES with what the kernel holds. */
  pending: Buffer[];
  pendingBytes: number;
  close(code: number, reason: string): void;
}

const { port, host } = listenAddress();
const rooms = new Rooms<Subscriber>();
const dirty = new Set<Subscriber>();
const subscribers = new Set<Subscriber>();
const closeSubscribers = () => {
  const n = subscribers.size;
  for (const s of subscribers) s.close(SERVICE_RESTART, 'service restart');
  return n;
};
let flushScheduled = false;

/** One unmasked text frame (RFC 6455 5.2) for `payload`. */
function frame(payload: Buffer): Buffer {
  const len = payload.length;
  const hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hl + len);
  out[0] = 0x81;
  if (hl === 2) out[1] = len;
  else if (hl === 4) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  payload.copy(out, hl);
  return out;
}

function flush(): void {
  flushScheduled = false;
  for (const s of dirty) {
    s.socket.write(s.pending.length === 1 ? s.pending[0]! : Buffer.concat(s.pending, s.pendingBytes));
    s.pending = [];
    s.pendingBytes = 0;
  }
  dirty.clear();
}

function broadcast(room: string, data: RawData): void {
  const f = frame(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
  for (const s of rooms.members(room)) {
    if (s.pendingBytes + s.socket.writableLength > MAX_QUEUED_BYTES) {
      s.close(4008, 'slow consumer');
      continue;
    }
    s.pending.push(f);
    s.pendingBytes += f.length;
    dirty.add(s);
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

const http = createServer((req, res) => {
  if (!handleDrain(req, res, closeSubscribers)) res.writeHead(426).end('websocket only\n');
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
http.on('upgrade', (req, socket, head) => {
  const r = readRoomsRequest(req);
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (typeof r === 'string') return ws.close(4400, r);
    const sub: Subscriber = {
      socket,
      pending: [],
      pendingBytes: 0,
      close: (code, reason) => {
        rooms.leave(r.room, sub);
        dirty.delete(sub);
        subscribers.delete(sub);
        ws.close(code, reason);
      },
    };
    if (r.subscriber && !rooms.join(r.room, sub)) return ws.close(4429, 'too many rooms');
    if (r.subscriber) subscribers.add(sub);
    ws.on('message', (data) => broadcast(r.room, data));
    ws.on('close', () => {
      rooms.leave(r.room, sub);
      dirty.delete(sub);
      subscribers.delete(sub);
    });
    ws.on('error', () => ws.terminate());
  });
});
// The accept backlog Switchboard listens with by default (LISTEN_BACKLOG): same care for every server.
http.listen({ port, host, backlog: 4096 }, () =>
  console.log(`tuned ws rooms server listening on ${host}:${port}`),
);
process.on('SIGTERM', () => process.exit(0));
