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
  /**
   * Subscribers opt in to the server's recovery, where it has one (workload D): Phoenix joins with
   * `recover` (docs/recovery.md), Socket.IO sends its session id and last packet offset on connect.
   */
  recover?: boolean;
  /** Phoenix only: publish through `POST /api/broadcast` with this bearer token instead of the socket. */
  apiToken?: string;
}

/**
 * One subscriber's recovery position, kept across its connections (workload D), and what the
 * server answered to its last rejoin.
 */
export interface ResumeState {
  /** Phoenix: the topic's epoch and the offset of the last message seen. */
  epoch?: string;
  offset?: number;
  /** Socket.IO: the session id and the id of the last packet seen. */
  pid?: string;
  packet?: string;
  /** The last rejoin: true recovered, false refused (loss to come), null: the server does not say. */
  recovered: boolean | null;
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
  /** `resume`: the subscriber's position when it opted in to recovery (read and updated). */
  handler(role: Role, sink: DeliverySink, resume?: ResumeState): FrameHandler;
  /** Text of one publish carrying `json` (a JSON object literal). */
  publish(sock: LeanSocket, json: string): string;
  /** Application-level keep-alive the client must send, if the protocol has one. */
  heartbeat?(sock: LeanSocket): void;
  /** How often `heartbeat` must be sent, ms. */
  heartbeatMs?: number;
}

const N = 0x6e; // 'n'
const QUOTE = 0x22;
const COLON = 0x3a;
const CLOSE_BRACKET = 0x5d;
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
  const topicBytes = Buffer.byteLength(topic);
  const eventAt = '[null,null,'.length + topicBytes + ',"'.length;
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
    handler(role, sink, resume) {
      const recovering = role === 'subscriber' && resume !== undefined;
      return {
        onOpen(sock) {
          sock.seq = 2;
          sock.sendText(`["1","1",${topic},"phx_join",${recovering ? phoenixRecoverParams(resume) : '{}'}]`);
        },
        onData(sock, b, s, e) {
          if (sock.state === 'ready') {
            if (role !== 'subscriber') return;
            if (recovering) {
              if (!phoenixPositioned(b, s, e, topicBytes, resume)) sink.other();
              else sink.delivery(b, s, e);
              return;
            }
            // `[null,null,` : a broadcast (replies and pushes carry refs), then the event name.
            if (b[s + 1] === N && b[s + 6] === N && b[s + eventAt] === EVENT_FIRST) sink.delivery(b, s, e);
            else sink.other();
            return;
          }
          const msg = parseArray(b.toString('utf8', s, e));
          if (!msg || msg[1] !== '1' || msg[3] !== 'phx_reply') return;
          const reply = msg[4] as { status?: string; response?: unknown } | undefined;
          if (reply?.status !== 'ok') {
            sock.fail(new Error(`phx_join refused: ${JSON.stringify(reply)}`));
            return;
          }
          if (recovering) takeJoinAnswer(resume, reply.response);
          sock.markReady();
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
    async path(_index, role) {
      // role=pub: a baseline's cut (its /drain) leaves publishers alone (bench/baselines/drain.ts).
      return `/socket.io/?EIO=4&transport=websocket${role === 'publisher' ? '&role=pub' : ''}`;
    },
    handler(role, sink, resume) {
      const recovering = role === 'subscriber' && resume !== undefined;
      const deliver = (b: Buffer, s: number, e: number) => {
        if (recovering) resume.packet = socketioPacketId(b, s, e) ?? resume.packet;
        sink.delivery(b, s, e);
      };
      return {
        onOpen() {
          /* the server speaks first: the Engine.IO open packet */
        },
        onData(sock, b, s, e) {
          if (sock.state === 'ready') {
            if (b[s] === DIGIT_4 && b[s + 1] === DIGIT_2) {
              if (role === 'subscriber') deliver(b, s, e);
            } else if (b[s] === DIGIT_2 && e - s === 1) {
              sock.sendText('3');
              if (role === 'subscriber') sink.other();
            } else if (role === 'subscriber') sink.other();
            return;
          }
          // A recovered session's missed packets come before its CONNECT answer.
          if (recovering && b[s] === DIGIT_4 && b[s + 1] === DIGIT_2) return deliver(b, s, e);
          const text = b.toString('utf8', s, e);
          if (text === '2') sock.sendText('3');
          else if (text.startsWith('0{')) sock.sendText(`40${recovering ? socketioAuth(resume) : ''}`);
          // A publisher only sends (io.to(room) would echo to it if it joined).
          else if (text.startsWith('40')) {
            if (role === 'publisher') sock.markReady();
            else if (recovering && takeSocketioSession(resume, text.slice(2))) sock.markReady();
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

/** Phoenix join params opting in to recovery: from the last position, or fresh. */
function phoenixRecoverParams(r: ResumeState): string {
  return r.epoch !== undefined && r.offset !== undefined
    ? `{"recover":${JSON.stringify({ epoch: r.epoch, offset: r.offset })}}`
    : '{"recover":true}';
}

/** Reads a recovery join's answer (docs/recovery.md) into `r`: refused or fresh moves to its position. */
function takeJoinAnswer(r: ResumeState, response: unknown): void {
  const a = (response ?? {}) as { recovered?: unknown; epoch?: unknown; offset?: unknown };
  const fresh = r.epoch === undefined;
  r.recovered = fresh ? null : a.recovered === true;
  if ((fresh || a.recovered !== true) && typeof a.epoch === 'string' && typeof a.offset === 'number') {
    r.epoch = a.epoch;
    r.offset = a.offset;
  }
}

/**
 * A broadcast to an opted-in join is `[null,"<epoch>:<offset>",<topic>,"bench",...`: true when this
 * frame is one (its position then goes to `r`), false for anything else.
 */
function phoenixPositioned(b: Buffer, s: number, e: number, topicBytes: number, r: ResumeState): boolean {
  if (b[s + 1] !== N || b[s + 6] !== QUOTE) return false;
  const close = b.indexOf(QUOTE, s + 7);
  if (close < 0 || close >= e) return false;
  const colon = b.lastIndexOf(COLON, close);
  if (colon <= s + 7) return false;
  if (b[close + 1 + topicBytes + 3] !== 0x62) return false; // `,<topic>,"b` : the bench event
  let offset = 0;
  for (let i = colon + 1; i < close; i++) offset = offset * 10 + (b[i]! - 48);
  if (r.epoch === undefined || b.toString('latin1', s + 7, colon) !== r.epoch) {
    r.epoch = b.toString('latin1', s + 7, colon);
  }
  r.offset = offset;
  return true;
}

/** Socket.IO's CONNECT payload asking to resume a session (connection state recovery). */
function socketioAuth(r: ResumeState): string {
  return r.pid !== undefined && r.packet !== undefined
    ? JSON.stringify({ pid: r.pid, offset: r.packet })
    : '';
}

/** Reads a CONNECT answer `{"sid","pid"}`: true when it resumed our session (rooms restored). */
function takeSocketioSession(r: ResumeState, json: string): boolean {
  let pid: unknown;
  try {
    pid = (JSON.parse(json) as { pid?: unknown }).pid;
  } catch {
    pid = undefined;
  }
  const resumed = r.pid !== undefined && pid === r.pid;
  r.recovered = r.pid === undefined ? null : resumed;
  if (typeof pid === 'string') r.pid = pid;
  return resumed;
}

/** The packet id Socket.IO's recovery appends to an event: `42["msg",{...},"<id>"]`. */
function socketioPacketId(b: Buffer, s: number, e: number): string | undefined {
  if (b[e - 1] !== CLOSE_BRACKET || b[e - 2] !== QUOTE) return undefined;
  const open = b.lastIndexOf(QUOTE, e - 3);
  return open > s ? b.toString('latin1', open + 1, e - 2) : undefined;
}

function parseArray(text: string): unknown[] | null {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
