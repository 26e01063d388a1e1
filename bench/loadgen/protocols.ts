/**
 * The three wire protocols the benchmark speaks, each reduced to what a subscriber and a publisher
 * need: how to connect and subscribe, how to recognise a delivered message with a byte test (no
 * parsing on the hot path), and how to frame a publish.
 *
 * - phoenix: Phoenix Channels V2 JSON (Switchboard). Join `["1","1",topic,"phx_join",{}]`, wait for
 *   the ok reply; broadcasts arrive as `[null,null,topic,event,payload]`.
 * - socketio: Engine.IO 4 over a websocket-only transport + Socket.IO 5 packets. Open `0{..}` ->
 *   send `40` -> `40{sid}` -> `421["join",room]` -> ack `431[..]`; events `42[..]`; ping `2` -> pong `3`.
 * - raw: the `ws` rooms baselines. Connect to `/?room=<topic>&role=sub|pub`; every text frame a
 *   subscriber gets is a delivery, every text frame a publisher sends goes to its room.
 */
import { signToken } from '../../testkit/src/index.js';
import type { FrameHandler, LeanSocket } from './lean-socket.js';

/** Where and how a generator connects. Serializable: it crosses the JSON-lines channel. */
export interface Endpoint {
  protocol: ProtocolName;
  host: string;
  port: number;
  /** Topic (Phoenix) or room (Socket.IO, raw) the connection joins. */
  topic: string;
  /** Phoenix only: HS256 secret the server was started with, to sign one token per connection. */
  jwtSecret?: string;
}

export type ProtocolName = 'phoenix' | 'socketio' | 'raw';

/** Receives every delivered message of a subscriber: `buf[start..end)` is the frame payload. */
export interface DeliverySink {
  delivery(buf: Buffer, start: number, end: number): void;
  /** A data frame on a ready subscriber that is not a delivery (heartbeat reply, ping...). */
  other(): void;
}

export type Role = 'subscriber' | 'publisher';

export interface Protocol {
  /** HTTP request target for connection number `index` in `role`. */
  path(index: number, role: Role): Promise<string>;
  handler(role: Role, sink: DeliverySink): FrameHandler;
  /** Text of one publish carrying `json` (a JSON object literal). */
  publish(sock: LeanSocket, json: string): string;
  /** Application-level keep-alive the client must send, if the protocol has one. */
  heartbeat?(sock: LeanSocket): void;
  /** How often `heartbeat` must be sent, ms. */
  heartbeatMs?: number;
}

const N = 0x6e; // 'n'
const DIGIT_2 = 0x32;
const DIGIT_4 = 0x34;

/** Builds the protocol for an endpoint. */
export function protocolFor(ep: Endpoint): Protocol {
  switch (ep.protocol) {
    case 'phoenix':
      return phoenix(ep);
    case 'socketio':
      return socketio(ep);
    case 'raw':
      return raw(ep);
    default:
      throw new Error(`endpoint.protocol must be phoenix, socketio or raw, got ${String(ep.protocol)}`);
  }
}

function phoenix(ep: Endpoint): Protocol {
  if (!ep.jwtSecret) throw new Error('endpoint.jwtSecret is required for the phoenix protocol');
  const secret = ep.jwtSecret;
  const topic = JSON.stringify(ep.topic);
  // A delivery is `[null,null,<topic>,"bench",...`: a broadcast of the benchmark's event. Testing the
  // event's first byte tells it from presence_diff, the other broadcast every subscriber gets.
  const eventAt = '[null,null,'.length + Buffer.byteLength(topic) + ',"'.length;
  const EVENT_FIRST = 'b'.charCodeAt(0);
  return {
    async path(index) {
      const token = await signToken(
        { sub: `bench-${index}`, join: ['room:*', 'feed:*'], publish: ['room:*', 'feed:*'] },
        secret,
        '6h',
      );
      return `/socket/websocket?vsn=2.0.0&token=${token}`;
    },
    handler(role, sink) {
      return {
        onOpen(sock) {
          sock.seq = 2;
          sock.sendText(`["1","1",${topic},"phx_join",{}]`);
        },
        onData(sock, b, s, e) {
          if (sock.state === 'ready') {
            if (role !== 'subscriber') return;
            // `[null,null,` : a broadcast (replies and pushes carry refs), then the event name.
            if (b[s + 1] === N && b[s + 6] === N && b[s + eventAt] === EVENT_FIRST) sink.delivery(b, s, e);
            else sink.other();
            return;
          }
          const msg = parseArray(b.toString('utf8', s, e));
          if (!msg || msg[1] !== '1' || msg[3] !== 'phx_reply') return;
          const reply = msg[4] as { status?: string; response?: unknown } | undefined;
          if (reply?.status === 'ok') sock.markReady();
          else sock.fail(new Error(`phx_join refused: ${JSON.stringify(reply)}`));
        },
      };
    },
    publish(sock, json) {
      return `["1","${sock.seq++}",${topic},"bench",${json}]`;
    },
    heartbeat(sock) {
      sock.sendText(`[null,"${sock.seq++}","phoenix","heartbeat",{}]`);
    },
    heartbeatMs: 25_000,
  };
}

function socketio(ep: Endpoint): Protocol {
  const room = JSON.stringify(ep.topic);
  return {
    async path() {
      return '/socket.io/?EIO=4&transport=websocket';
    },
    handler(role, sink) {
      return {
        onOpen() {
          /* the server speaks first: the Engine.IO open packet */
        },
        onData(sock, b, s, e) {
          if (sock.state === 'ready') {
            if (b[s] === DIGIT_4 && b[s + 1] === DIGIT_2) {
              if (role === 'subscriber') sink.delivery(b, s, e);
            } else if (b[s] === DIGIT_2 && e - s === 1) {
              sock.sendText('3');
              if (role === 'subscriber') sink.other();
            } else if (role === 'subscriber') sink.other();
            return;
          }
          const text = b.toString('utf8', s, e);
          if (text === '2') sock.sendText('3');
          else if (text.startsWith('0{')) sock.sendText('40');
          // A publisher only sends (io.to(room) would echo to it if it joined).
          else if (text.startsWith('40')) {
            if (role === 'publisher') sock.markReady();
            else sock.sendText(`421["join",${room}]`);
          } else if (text.startsWith('431')) sock.markReady();
          else if (text.startsWith('44')) sock.fail(new Error(`socket.io connect refused: ${text}`));
        },
      };
    },
    publish(_sock, json) {
      return `42["publish",${room},${json}]`;
    },
  };
}

function raw(ep: Endpoint): Protocol {
  const room = encodeURIComponent(ep.topic);
  return {
    async path(_index, role) {
      return `/?room=${room}&role=${role === 'subscriber' ? 'sub' : 'pub'}`;
    },
    handler(role, sink) {
      return {
        onOpen(sock) {
          sock.markReady();
        },
        onData(_sock, b, s, e) {
          if (role === 'subscriber') sink.delivery(b, s, e);
        },
      };
    },
    publish(_sock, json) {
      return json;
    },
  };
}

function parseArray(text: string): unknown[] | null {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
