import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { withAssigns, type Principal } from '../auth/principal.js';
import { scheduleFlush, type Flushable } from '../hub/flush-scheduler.js';
import { AuthError } from '../auth/verifier.js';
import { pongFrame, textFrame } from '../hub/ws-frame.js';
import { encodeErrorReplyWith, encodeReplyWith, type Serializer } from '../protocol/serializer.js';
import type { InboundMessage } from '../protocol/message.js';
import { sessionMetrics as sm } from './session-metrics.js';
import { TokenBucket } from './token-bucket.js';
import { CloseCode, closeReason, type CloseCodeValue } from '../protocol/close-codes.js';
import { metrics } from '../telemetry/metrics.js';
import type { SessionHost } from './session-host.js';

const OPEN = 1;

/**
 * The connection half of a session (Session adds channels on top): the outbound queue and closing,
 * WebSocket pings, the rate limit's bucket, token refresh and transport errors.
 *
 * Every frame for this client (replies, pushes, shared broadcast frames) is appended to one queue
 * that is written to the socket once per flush pass as a single write, bypassing ws's sender (ws
 * itself only writes close frames, and we flush before closing; pongs are ours). If the bytes
 * queued plus those the socket has not sent exceed OUTBOUND_QUEUE_MAX_BYTES, the client is too
 * slow and is closed with 4008; nobody else waits for it.
 */
export abstract class SessionConnection implements Flushable {
  /** Frames waiting for the next flush; bound: OUTBOUND_QUEUE_MAX_BYTES together with the socket's unsent bytes. */
  /** Time (ms) a frame was last received; the heartbeat sweep closes silent sessions. */
  lastSeen: number;
  protected readonly bucket: TokenBucket;
  protected out: Buffer[] | null = null;
  protected outBytes = 0;
  protected closing = false;
  protected closeCode = 0;

  constructor(
    protected readonly host: SessionHost,
    protected readonly ws: WebSocket,
    protected readonly socket: Duplex,
    /** Replaced when the client hands over a fresh token (`access_token` on topic `phoenix`). */
    public principal: Principal,
    /** The connection's wire format (from the upgrade's `vsn`); the only code that shapes frames. */
    readonly serializer: Serializer,
  ) {
    this.lastSeen = Date.now();
    this.bucket = new TokenBucket(host.rateLimit, this.lastSeen);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Leaves every joined channel (on close). */
  protected abstract releaseChannels(): void;

  /**
   * A WebSocket ping (or an unsolicited pong, which we never ask for): counts against the rate
   * limit like any frame; a ping's pong goes through the bounded outbound queue (ws's autoPong is off).
   */
  handleControl(data: Buffer, isPing: boolean): void {
    if (this.closing) return;
    const now = Date.now();
    this.lastSeen = now;
    sm.rxControl.inc();
    const verdict = this.bucket.take(now);
    if (verdict === 'exceeded') {
      sm.rejectedRateLimited.inc();
      this.host.logger.info({ user: this.principal.sub }, 'ping rate exceeded persistently: closing');
      this.close(CloseCode.rateLimited);
    } else if (verdict === 'limited') {
      sm.rejectedRateLimited.inc(); // no pong: there is no reply frame for a refused ping
    } else if (isPing) {
      this.enqueue(pongFrame(data));
    }
  }

  /**
   * `{"token": JWT}` on topic `phoenix`, event `access_token`: verified like an upgrade's token;
   * it must name the same `sub`. Its claims apply to later joins and pushes, and its `exp` replaces
   * the session's. Replied `ok` with `{"expires_at": seconds}`, or `error` with the reason.
   */
  protected refreshToken(msg: InboundMessage): void {
    const { joinRef, ref, topic } = msg;
    const token = isPlainObject(msg.payload) ? msg.payload.token : undefined;
    if (typeof token !== 'string' || token.length === 0) {
      return this.replyError(joinRef, ref, topic, 'access_token needs {"token": "<JWT>"}');
    }
    this.host.verifyToken(token).then(
      (principal) => {
        if (this.closing) return;
        if (principal.sub !== this.principal.sub) {
          return this.replyError(joinRef, ref, topic, 'token is for another user');
        }
        // The connect handler's assigns belong to the connection, not to the token.
        this.principal = this.principal.assigns ? withAssigns(principal, this.principal.assigns) : principal;
        const expiresAt = Math.floor(principal.expiresAt / 1000);
        this.send(encodeReplyWith(this.serializer, joinRef, ref, topic, 'ok', `{"expires_at":${expiresAt}}`));
        sm.txReply.inc();
      },
      (err: unknown) => {
        if (this.closing) return;
        if (!(err instanceof AuthError)) return this.fail(err, topic);
        this.replyError(joinRef, ref, topic, `unauthorized: ${err.code}`);
      },
    );
  }

  protected fail(err: unknown, topic?: string): void {
    this.host.logger.error({ err, topic, user: this.principal.sub }, 'session failed');
    this.close(CloseCode.internalError);
  }

  protected reply(joinRef: string | null, ref: string | null, topic: string): void {
    this.send(encodeReplyWith(this.serializer, joinRef, ref, topic, 'ok'));
    sm.txReply.inc();
  }

  protected replyError(joinRef: string | null, ref: string | null, topic: string, reason: string): void {
    this.send(encodeErrorReplyWith(this.serializer, joinRef, ref, topic, reason));
    sm.txReply.inc();
  }

  handleTransportError(err: Error & { code?: string }): void {
    // ws has already started closing with its own close frame: drop what we queued.
    this.out = null;
    this.outBytes = 0;
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      sm.rejectedTooLarge.inc();
      this.closeCode ||= CloseCode.frameTooLarge;
    } else if (err.code === 'WS_ERR_INVALID_UTF8') {
      sm.rxInvalid.inc();
      sm.rejectedMalformed.inc();
      this.closeCode ||= CloseCode.malformedFrame;
    } else if (err.code?.startsWith('WS_ERR_')) {
      this.closeCode ||= 1002;
    }
    this.closing = true;
    this.releaseChannels();
    this.host.logger.debug({ code: err.code, message: err.message }, 'websocket error');
  }

  protected send(text: string): void {
    this.enqueue(textFrame(text));
  }

  /** Queues a complete frame (possibly shared with other sessions) for the next pass's write. */
  enqueue(frame: Buffer): void {
    if (this.closing) return;
    const bytes = this.outBytes + frame.length;
    if (bytes + this.socket.writableLength > this.host.limits.outboundQueueMaxBytes) {
      return this.slowConsumer(bytes);
    }
    if (this.out === null) {
      this.out = [frame];
      scheduleFlush(this);
    } else {
      this.out.push(frame);
    }
    this.outBytes = bytes;
  }

  protected slowConsumer(queued: number): void {
    metrics.slowConsumerCloses.inc();
    this.host.logger.info(
      { user: this.principal.sub, queued, unsent: this.socket.writableLength },
      'slow consumer: closing',
    );
    this.close(CloseCode.slowConsumer);
  }

  /** Writes the queue to the socket in one write. Called by the flush scheduler (and before closing). */
  flush(): void {
    const out = this.out;
    if (out === null) return;
    const bytes = this.outBytes;
    this.out = null;
    this.outBytes = 0;
    // ws may have sent its close frame (peer close, protocol error): nothing may follow it.
    if (this.ws.readyState !== OPEN) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, bytes));
  }

  /**
   * Closes with `code` (and `reason`, default the code's own): writes what is queued (except for slow
   * consumers), leaves every channel.
   */
  close(code: CloseCodeValue, reason: string = closeReason(code)): void {
    if (this.closing) return;
    if (code === CloseCode.slowConsumer) {
      this.out = null;
      this.outBytes = 0;
    } else {
      this.flush();
    }
    this.closing = true;
    this.closeCode = code;
    this.releaseChannels();
    this.ws.close(code, reason);
  }

  /** Closes without a handshake (the drain's last resort). */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /**
   * Waits until `bytes` more fit in half of OUTBOUND_QUEUE_MAX_BYTES (queued plus unsent), so a
   * recovery never takes the room live broadcasts need. A frame larger than that half waits for an
   * empty queue. False once the session is closing.
   */
  protected async roomForRecovery(bytes: number): Promise<boolean> {
    const budget = this.host.limits.outboundQueueMaxBytes / 2;
    while (!this.closing) {
      const used = this.outBytes + this.socket.writableLength;
      if (used === 0 || used + bytes <= budget) return true;
      this.flush();
      await drainedOrClosed(this.socket);
    }
    return false;
  }
}

/** Resolves when the socket drained or closed, or after 50 ms (drain only fires after a refused write). */
function drainedOrClosed(socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, 50);
    socket.once('drain', done);
    socket.once('close', done);
  });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
