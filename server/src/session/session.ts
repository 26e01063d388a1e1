import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/principal.js';
import type { ChannelAssigns, ChannelHandler } from '../channels/channel.js';
import { scheduleFlush, type Flushable } from '../hub/flush-scheduler.js';
import type { Subscriber } from '../hub/hub.js';
import { textFrame } from '../hub/ws-frame.js';
import { decodeClientBinary } from '../protocol/binary.js';
import { CloseCode, closeReason, type CloseCodeValue } from '../protocol/close-codes.js';
import { decodeText, encodeErrorReply, encodeMessage, encodeReply } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/errors.js';
import { ChannelEvent, PHOENIX_TOPIC, isReservedEvent, type InboundMessage } from '../protocol/message.js';
import type { PresenceMeta } from '../presence/presence.js';
import { closeCodeLabel, metrics } from '../telemetry/metrics.js';
import { startJoinSpan } from '../telemetry/tracing.js';
import { nextPhxRef } from './phx-ref.js';
import {
  isAfter,
  parseRecoverParam,
  recoverForJoin,
  recoveredFrame,
  type HeldFrame,
  type RecoverRequest,
} from './recovery-join.js';
import type { SessionHost } from './session-host.js';
import { sessionMetrics as sm } from './session-metrics.js';
import { TokenBucket, type RateVerdict } from './token-bucket.js';

/** One joined topic of a connection. */
interface JoinedChannel {
  joinRef: string | null;
  handler: ChannelHandler;
  assigns: ChannelAssigns;
  presenceKey: string | null;
  presenceRef: string | null;
  /** Opted in to recovery: broadcasts carry their position (see recovery-join.ts). */
  positions: boolean;
  /** Live broadcasts held back until the recovered ones are sent; null when not recovering. */
  held: HeldFrame[] | null;
}

const kSession = Symbol('switchboard.session');
type SessionSocket = WebSocket & { [kSession]?: Session };
const OPEN = 1;

/**
 * One WebSocket connection: decodes frames, runs the join/leave/push state machine, enforces the
 * per-connection limits and owns the outbound queue.
 *
 * Outbound: every frame for this client (replies, pushes, shared broadcast frames) is appended to
 * one queue that is written to the socket once per flush pass as a single write, bypassing
 * ws's sender (ws itself only writes pongs and close frames, and we flush before closing). If the
 * bytes queued plus those the socket has not sent exceed OUTBOUND_QUEUE_MAX_BYTES, the client is
 * too slow and is closed with 4008; nobody else waits for it.
 *
 * Memory: no per-connection timers or closures (listeners are shared functions), the channel map
 * is allocated on first join.
 */
export class Session implements Subscriber, Flushable {
  /** Time (ms) a frame was last received; the heartbeat sweep closes silent sessions. */
  lastSeen: number;
  private channels: Map<string, JoinedChannel> | null = null;
  private out: Buffer[] | null = null;
  private outBytes = 0;
  private closing = false;
  private closeCode = 0;
  private readonly bucket: TokenBucket;

  constructor(
    private readonly host: SessionHost,
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly principal: Principal,
  ) {
    this.lastSeen = Date.now();
    this.bucket = new TokenBucket(host.rateLimit, this.lastSeen);
    (ws as SessionSocket)[kSession] = this;
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
  }

  /** Joined topics (for tests and introspection). */
  get topicCount(): number {
    return this.channels?.size ?? 0;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  handleFrame(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    const now = Date.now();
    this.lastSeen = now;
    let msg: InboundMessage;
    try {
      msg = isBinary ? decodeClientBinary(data) : decodeText(data.toString('utf8'));
    } catch (err) {
      if (!(err instanceof ProtocolError)) return this.fail(err);
      sm.rxInvalid.inc();
      sm.rejectedMalformed.inc();
      this.host.logger.debug({ code: err.code, user: this.principal.sub }, 'malformed frame: closing');
      this.close(CloseCode.malformedFrame);
      return;
    }
    const verdict = this.bucket.take(now);
    if (verdict !== 'ok') {
      this.rateLimited(msg, verdict);
      return;
    }
    try {
      this.dispatch(msg);
    } catch (err) {
      this.fail(err, msg.topic);
    }
  }

  private dispatch(msg: InboundMessage): void {
    if (msg.topic === PHOENIX_TOPIC) {
      if (msg.event === ChannelEvent.heartbeat) {
        sm.rxHeartbeat.inc();
        this.reply(msg.joinRef, msg.ref, msg.topic);
      } else {
        sm.rxPush.inc();
        this.replyError(msg.joinRef, msg.ref, msg.topic, 'unmatched topic');
      }
      return;
    }
    switch (msg.event) {
      case ChannelEvent.join:
        return this.join(msg);
      case ChannelEvent.leave:
        return this.leave(msg);
      default:
        return this.push(msg);
    }
  }

  private join(msg: InboundMessage): void {
    sm.rxJoin.inc();
    const { joinRef, ref, topic } = msg;
    const span = startJoinSpan(topic);
    if (msg.binary || !isPlainObject(msg.payload)) {
      sm.joinError.inc();
      span.end('error');
      return this.replyError(joinRef, ref, topic, 'join params must be a JSON object');
    }
    const handler = this.host.router.match(topic, this.principal);
    if (!handler) {
      sm.joinUnmatched.inc();
      span.end('unmatched');
      // join_ref null, as Phoenix does: there is no channel this reply could belong to.
      return this.replyError(null, ref, topic, 'unmatched topic');
    }
    const channels = (this.channels ??= new Map());
    const previous = channels.get(topic);
    if (previous) {
      // Duplicate join: the old channel is closed (phx_close to its join_ref), the new join proceeds.
      this.closeChannel(topic, previous, true);
    } else if (channels.size >= this.host.limits.maxTopicsPerConnection) {
      sm.joinLimit.inc();
      sm.rejectedTopicLimit.inc();
      span.end('limit');
      return this.replyError(joinRef, ref, topic, 'too many topics');
    }
    const result = handler.join({ topic, params: msg.payload, principal: this.principal });
    if (!result.ok) {
      (result.reason === 'unauthorized' ? sm.joinUnauthorized : sm.joinError).inc();
      span.end(result.reason === 'unauthorized' ? 'unauthorized' : 'error');
      return this.replyError(joinRef, ref, topic, result.reason);
    }
    const recovery = parseRecoverParam(msg.payload.recover);
    if (typeof recovery === 'string') {
      sm.joinError.inc();
      span.end('error');
      return this.replyError(joinRef, ref, topic, recovery);
    }
    const ch: JoinedChannel = {
      joinRef,
      handler,
      assigns: result.assigns,
      presenceKey: null,
      presenceRef: null,
      positions: recovery !== undefined,
      held: recovery !== undefined ? [] : null,
    };
    channels.set(topic, ch);
    this.host.hub
      .subscribe(topic, this, ch.positions)
      .then(
        async () => {
          if (this.current(topic) !== ch) return span.end('abandoned');
          if (recovery !== undefined) {
            if (!(await this.recoverJoin(topic, ch, ref, recovery))) return span.end('abandoned');
          } else {
            sm.joinOk.inc();
            this.reply(joinRef, ref, topic);
          }
          span.end('ok');
          if (result.presence) this.trackPresence(topic, ch, result.presence.key, result.presence.meta);
        },
        (err: unknown) => {
          if (this.current(topic) !== ch) return span.end('abandoned');
          this.channels?.delete(topic);
          sm.joinError.inc();
          span.end('error', err);
          this.replyError(joinRef, ref, topic, 'join failed');
        },
      )
      .catch((err: unknown) => this.fail(err, topic));
  }

  /**
   * The hub subscription is in place (live broadcasts are held in `ch.held`): recover, reply with
   * the outcome, push the recovered publications in order, then the held live ones that come after
   * them. False when the channel went away meanwhile.
   */
  private async recoverJoin(
    topic: string,
    ch: JoinedChannel,
    ref: string | null,
    req: RecoverRequest,
  ): Promise<boolean> {
    const outcome = await recoverForJoin(this.host.history, topic, req, this.host.logger);
    if (this.current(topic) !== ch) return false;
    sm.joinOk.inc();
    this.send(encodeReply(ch.joinRef, ref, topic, 'ok', outcome.responseJson));
    sm.txReply.inc();
    for (const pub of outcome.publications) this.enqueue(recoveredFrame(pub));
    sm.txRecovered.inc(outcome.publications.length);
    const held = ch.held ?? [];
    ch.held = null;
    for (const h of held) if (isAfter(h, outcome.top)) this.enqueue(h.frame);
    return true;
  }

  /** Hub: a broadcast for a topic joined with recovery; held back while that join recovers. */
  enqueuePositioned(topic: string, frame: Buffer, epoch?: string, offset?: number): void {
    const held = this.channels?.get(topic)?.held;
    if (held) held.push({ frame, epoch, offset });
    else this.enqueue(frame);
  }

  /** Tracks the join, then pushes `presence_state` (after the join reply, as Phoenix does). */
  private trackPresence(topic: string, ch: JoinedChannel, key: string, extra: Record<string, unknown>): void {
    const phxRef = nextPhxRef();
    ch.presenceKey = key;
    ch.presenceRef = phxRef;
    const meta: PresenceMeta = {
      ...extra,
      phx_ref: phxRef,
      online_at: String(Math.floor(Date.now() / 1000)),
    };
    delete meta.phx_ref_prev;
    const presence = this.host.presence;
    presence
      .track(topic, key, meta)
      .then(() => presence.list(topic))
      .then((state) => {
        if (this.current(topic) !== ch) return;
        this.send(encodeMessage(ch.joinRef, null, topic, ChannelEvent.presenceState, JSON.stringify(state)));
        sm.txPresence.inc();
      })
      .catch((err: unknown) => this.host.logger.warn({ err, topic }, 'presence track failed'));
  }

  /** A bug while handling this connection: log it and close with 1011; never take the process down. */
  private fail(err: unknown, topic?: string): void {
    this.host.logger.error({ err, topic, user: this.principal.sub }, 'session failed');
    this.close(CloseCode.internalError);
  }

  private leave(msg: InboundMessage): void {
    sm.rxLeave.inc();
    const { joinRef, ref, topic } = msg;
    const ch = this.channels?.get(topic);
    this.reply(joinRef, ref, topic);
    if (ch && (joinRef === null || joinRef === ch.joinRef)) this.closeChannel(topic, ch, true);
  }

  private push(msg: InboundMessage): void {
    sm.rxPush.inc();
    const { joinRef, ref, topic } = msg;
    const ch = this.channels?.get(topic);
    if (!ch || (joinRef !== null && joinRef !== ch.joinRef)) {
      return this.replyError(joinRef, ref, topic, 'unmatched topic');
    }
    if (isReservedEvent(msg.event)) return this.replyError(joinRef, ref, topic, 'reserved event');
    const result = ch.handler.handleIn(
      { topic, message: msg, principal: this.principal, assigns: ch.assigns },
      this.host,
    );
    if (result.ok) this.reply(joinRef, ref, topic);
    else this.replyError(joinRef, ref, topic, result.reason);
  }

  private rateLimited(msg: InboundMessage, verdict: RateVerdict): void {
    sm.rejectedRateLimited.inc();
    if (verdict === 'exceeded') {
      this.host.logger.info({ user: this.principal.sub }, 'rate limit exceeded persistently: closing');
      this.close(CloseCode.rateLimited);
      return;
    }
    this.replyError(msg.joinRef, msg.ref, msg.topic, 'rate limited');
  }

  private current(topic: string): JoinedChannel | undefined {
    return this.closing ? undefined : this.channels?.get(topic);
  }

  private closeChannel(topic: string, ch: JoinedChannel, notify: boolean): void {
    this.channels?.delete(topic);
    this.host.hub.unsubscribe(topic, this);
    if (ch.presenceRef !== null && ch.presenceKey !== null) {
      this.host.presence
        .untrack(topic, ch.presenceKey, ch.presenceRef)
        .catch((err: unknown) => this.host.logger.warn({ err, topic }, 'presence untrack failed'));
    }
    if (notify) {
      this.send(encodeMessage(ch.joinRef, ch.joinRef, topic, ChannelEvent.close, '{}'));
      sm.txPush.inc();
    }
  }

  private reply(joinRef: string | null, ref: string | null, topic: string): void {
    this.send(encodeReply(joinRef, ref, topic, 'ok'));
    sm.txReply.inc();
  }

  private replyError(joinRef: string | null, ref: string | null, topic: string, reason: string): void {
    this.send(encodeErrorReply(joinRef, ref, topic, reason));
    sm.txReply.inc();
  }

  private send(text: string): void {
    this.enqueue(textFrame(text));
  }

  /** Queues a complete frame (possibly shared with other sessions) for the next pass's write. */
  enqueue(frame: Buffer): void {
    if (this.closing) return;
    const bytes = this.outBytes + frame.length;
    if (bytes + this.socket.writableLength > this.host.limits.outboundQueueMaxBytes) {
      metrics.slowConsumerCloses.inc();
      this.host.logger.info(
        { user: this.principal.sub, queued: bytes, unsent: this.socket.writableLength },
        'slow consumer: closing',
      );
      this.close(CloseCode.slowConsumer);
      return;
    }
    if (this.out === null) {
      this.out = [frame];
      scheduleFlush(this);
    } else {
      this.out.push(frame);
    }
    this.outBytes = bytes;
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

  /** Closes with `code`: writes what is queued (except for slow consumers), leaves every channel. */
  close(code: CloseCodeValue): void {
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
    this.ws.close(code, closeReason(code));
  }

  /** Closes without a handshake (the drain's last resort). */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /**
   * Live delivery may have missed publications (the broker connection was lost): every channel
   * joined with recovery gets `phx_error`, so the client rejoins with its last position and
   * recovery fills what history holds. Channels without recovery carry on (at-most-once, as Phoenix).
   * Returns how many channels were told.
   */
  resyncRecoveryChannels(): number {
    if (this.closing || !this.channels) return 0;
    let n = 0;
    for (const [topic, ch] of [...this.channels]) {
      if (!ch.positions) continue;
      this.closeChannel(topic, ch, false);
      this.send(encodeMessage(ch.joinRef, ch.joinRef, topic, ChannelEvent.error, '{}'));
      sm.txPush.inc();
      n++;
    }
    return n;
  }

  private releaseChannels(): void {
    const channels = this.channels;
    if (!channels) return;
    this.channels = null;
    for (const [topic, ch] of channels) this.closeChannel(topic, ch, false);
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

  handleClosed(code: number): void {
    this.closing = true;
    this.out = null;
    this.releaseChannels();
    metrics.connections.dec();
    metrics.disconnects.labels(closeCodeLabel(this.closeCode || code)).inc();
    this.host.sessionClosed(this);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Shared listeners (`this` is the WebSocket): no closures per connection.
function onMessage(this: SessionSocket, data: Buffer, isBinary: boolean): void {
  this[kSession]?.handleFrame(data, isBinary);
}
function onError(this: SessionSocket, err: Error): void {
  this[kSession]?.handleTransportError(err);
}
function onClose(this: SessionSocket, code: number): void {
  const session = this[kSession];
  this[kSession] = undefined;
  session?.handleClosed(code);
}
