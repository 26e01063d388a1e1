import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { AuthError, type TokenVerifier } from '../auth/verifier.js';
import type { SwitchboardNode } from '../node.js';
import { CloseCode } from '../protocol/close-codes.js';
import { serializerForVsn } from '../protocol/serializer.js';
import type { Session } from '../session/session.js';
import { HttpError, sendJson } from './http-util.js';

/** The LongPoll endpoint: the client's `new Socket("/socket", {transport: LongPoll})` uses it. */
export const LONGPOLL_PATH = '/socket/longpoll';
/** Session ids carry this prefix, so they are told apart from a JWT also sent as `token`. */
const ID_PREFIX = 'lp.';

/**
 * A WebSocket stand-in for the Session: the session writes complete, unmasked WebSocket frames
 * to `socket`; this sink unframes them into the messages a poll returns. Inbound messages are
 * emitted as ws's 'message' events. One session model, two transports.
 */
class PollSink extends EventEmitter {
  readyState = 1;
  readonly messages: string[] = [];
  bytes = 0;
  waiter: (() => void) | null = null;
  closeCode = 0;
  readonly socket: Duplex;

  constructor() {
    super();
    this.socket = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, cb) => {
        this.unframe(chunk);
        cb();
      },
    });
    // Messages no poll has taken yet count as the socket's unsent bytes, so the session's
    // OUTBOUND_QUEUE_MAX_BYTES bound (slow consumer, 4008) covers a client that stops polling.
    Object.defineProperty(this.socket, 'writableLength', { get: () => this.bytes });
  }

  /** Splits server frames (unmasked): text frames become messages; pongs and the rest are dropped. */
  private unframe(buf: Buffer): void {
    let i = 0;
    while (i + 2 <= buf.length) {
      const opcode = buf[i]! & 0x0f;
      let len = buf[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) {
        len = buf.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        len = Number(buf.readBigUInt64BE(p));
        p += 8;
      }
      const payload = buf.subarray(p, p + len);
      if (opcode === 0x1) this.push(payload.toString('utf8'), len);
      else if (opcode === 0x2) this.push(payload.toString('base64'), len);
      i = p + len;
    }
  }

  private push(text: string, bytes: number): void {
    this.messages.push(text);
    this.bytes += bytes;
    this.wake();
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** What ws's WebSocket.close does for the session: the session sees 'close' once. */
  close(code: number): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.closeCode = code;
    this.wake();
    this.emit('close', code, Buffer.alloc(0));
  }

  terminate(): void {
    this.close(1006);
  }
}

interface PollSession {
  sink: PollSink;
  session: Session;
  /** Time (ms) the last poll ended; a session nobody polls for idleMs is closed. */
  lastPoll: number;
  polling: boolean;
}

export interface LongPollOptions {
  node: SwitchboardNode;
  verify: TokenVerifier;
  /** How long a poll waits for messages before answering 204 (Phoenix: 10 s). */
  pollWindowMs: number;
  /** A session not polled for this long is closed (Phoenix: pubsub_timeout_ms 20 s). */
  idleMs: number;
}

/**
 * Phoenix's LongPoll protocol: every answer is HTTP 200 with a JSON body whose `status` the client
 * reads. GET without a session token opens a session (410 + token); GET with one waits up to
 * the poll window for messages (200 + messages, else 204); an unknown or closed session is 410
 * (the client reconnects); a refused token is 403; a draining node answers an open with 500 (the
 * client backs off and reconnects) and ends its sessions' polls with 410. POST sends ndjson (200).
 */
export class LongPollSessions {
  private readonly sessions = new Map<string, PollSession>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly opts: LongPollOptions) {
    this.sweep = setInterval(() => this.expire(), Math.max(100, Math.floor(opts.idleMs / 4)));
    this.sweep.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  stop(): void {
    clearInterval(this.sweep);
    for (const s of this.sessions.values()) s.session.close(CloseCode.serviceRestart);
    this.sessions.clear();
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) {
      if (s.sink.readyState !== 1) this.sessions.delete(id);
      else if (!s.polling && now - s.lastPoll > this.opts.idleMs) {
        this.sessions.delete(id);
        s.session.close(CloseCode.heartbeatTimeout); // no poll is a LongPoll client's missed heartbeat
      }
    }
  }

  handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const tokens = url.searchParams.getAll('token');
    const id = tokens.findLast((t) => t.startsWith(ID_PREFIX));
    if (req.method === 'GET') {
      if (id === undefined) return this.open(req, res, url);
      const s = this.sessions.get(id);
      if (!s || s.sink.readyState !== 1)
        return sendJson(res, 200, { status: 410, token: null, messages: [] });
      return this.poll(s, id, res);
    }
    if (req.method === 'POST') {
      const s = id === undefined ? undefined : this.sessions.get(id);
      if (!s || s.sink.readyState !== 1) return sendJson(res, 200, { status: 410 });
      const body = await readBody(req, this.opts.node.limits.outboundQueueMaxBytes);
      for (const line of body.split('\n')) {
        if (line.length > 0) s.sink.emit('message', Buffer.from(line, 'utf8'), false);
      }
      return sendJson(res, 200, { status: 200 });
    }
    res.setHeader('allow', 'GET, POST');
    throw new HttpError(405, 'LongPoll takes GET (poll) and POST (send)');
  };

  private async open(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { node } = this.opts;
    // 500 makes the client close and reconnect with backoff (to another replica behind the ingress);
    // a 410 without a session would have it poll again at once.
    if (node.isDraining) return sendJson(res, 200, { status: 500, token: null, messages: [] });
    const serializer = serializerForVsn(url.searchParams.get('vsn'));
    if (!serializer) throw new HttpError(400, 'unsupported vsn');
    const header = req.headers['x-phoenix-authtoken'];
    const jwt = typeof header === 'string' ? header : url.searchParams.getAll('token')[0];
    let principal;
    try {
      principal = await this.opts.verify(jwt ?? null);
    } catch (err) {
      if (err instanceof AuthError) return sendJson(res, 200, { status: 403, token: null, messages: [] });
      throw err;
    }
    const admission = await node.admit(principal, url.searchParams);
    if (!('principal' in admission)) {
      return sendJson(res, 200, { status: admission.status, token: null, messages: [] });
    }
    principal = admission.principal;
    const sink = new PollSink();
    const session = node.accept(sink as unknown as WebSocket, sink.socket, principal, serializer);
    const id = ID_PREFIX + randomBytes(18).toString('base64url');
    this.sessions.set(id, { sink, session, lastPoll: Date.now(), polling: false });
    sink.once('close', () => this.sessions.delete(id));
    sendJson(res, 200, { status: 410, token: id, messages: [] });
  }

  private poll(s: PollSession, id: string, res: ServerResponse): void {
    s.polling = true;
    // The LongPoll client sends no heartbeats (skipHeartbeat): a poll is its sign of life.
    s.session.lastSeen = Date.now();
    const wait: { timer?: NodeJS.Timeout } = {};
    const answer = () => {
      clearTimeout(wait.timer);
      s.sink.waiter = null;
      s.polling = false;
      s.lastPoll = Date.now();
      if (res.writableEnded) return;
      if (s.sink.messages.length > 0) {
        const messages = s.sink.messages.splice(0);
        s.sink.bytes = 0;
        s.sink.socket.emit('drain');
        return sendJson(res, 200, { status: 200, token: id, messages });
      }
      if (s.sink.readyState !== 1) return sendJson(res, 200, { status: 410, token: null, messages: [] });
      sendJson(res, 200, { status: 204, token: id, messages: [] });
    };
    if (s.sink.messages.length > 0 || s.sink.readyState !== 1) return answer();
    s.sink.wake(); // a second poll on one session ends the first
    s.sink.waiter = answer;
    wait.timer = setTimeout(answer, this.opts.pollWindowMs);
    res.once('close', () => {
      if (s.sink.waiter === answer) {
        clearTimeout(wait.timer);
        s.sink.waiter = null;
        s.polling = false;
        s.lastPoll = Date.now();
      }
    });
  }
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) return reject(new HttpError(413, 'LongPoll body too large'));
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
