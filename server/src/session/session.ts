import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/principal.js';
import type { ChannelHandler, JoinResult, PushActions, TerminateReason } from '../channels/channel.js';
import { interceptSet, invokeHandler, runHandleOut } from '../channels/invoke.js';
import type { Subscriber } from '../hub/hub.js';
import { CloseCode } from '../protocol/close-codes.js';
import { ProtocolError } from '../protocol/errors.js';
import { ChannelEvent, PHOENIX_TOPIC, isReservedEvent, type InboundMessage } from '../protocol/message.js';
import type { PresenceMeta } from '../presence/presence.js';
import { encodeReplyWith, type Serializer } from '../protocol/serializer.js';
import { closeCodeLabel, metrics } from '../telemetry/metrics.js';
import { startJoinSpan, type SpanHandle } from '../telemetry/tracing.js';
import { SessionConnection, isPlainObject } from './session-connection.js';
import { nextPhxRef } from './phx-ref.js';
import {
  isAfter,
  parseRecoverParam,
  recoverForJoin,
  recoveredFrame,
  type RecoverRequest,
} from './recovery-join.js';
import type { SessionHost } from './session-host.js';
import {
  channelCount,
  channelList,
  channelOf,
  withChannel,
  withoutChannel,
  type JoinedChannel,
  type JoinedChannels,
} from './joined-channels.js';
import { sessionMetrics as sm } from './session-metrics.js';
import type { RateVerdict } from './token-bucket.js';

/** Per-process counter behind socket ids (`<nodeId>#<n>`). */
let socketSeq = 0;

/** Event on topic `phoenix` that hands the live connection a fresh token (docs/protocol.md). */
export const ACCESS_TOKEN_EVENT = 'access_token';

const kSession = Symbol('switchboard.session');
type SessionSocket = WebSocket & { [kSession]?: Session };

/**
 * One WebSocket connection: decodes frames with its serializer (V2 or V1, the session does not
 * care which), runs the join/leave/push state machine and enforces the per-connection limits on
 * joins and pushes; the connection itself (outbound queue, closing, pings, token refresh,
 * transport errors) is SessionConnection's (session-connection.ts).
 *
 * Memory: no per-connection timers or closures (listeners are shared functions); one channel is
 * held inline, a Map only from the second (joined-channels.ts).
 */
export class Session extends SessionConnection implements Subscriber {
  private channels: JoinedChannels = null;
  /** This connection's id over the cluster: broadcast_from leaves it out on every node. */
  readonly socketId: string;

  constructor(
    host: SessionHost,
    ws: WebSocket,
    socket: Duplex,
    principal: Principal,
    serializer: Serializer,
  ) {
    super(host, ws, socket, principal, serializer);
    this.socketId = `${host.nodeId}#${++socketSeq}`;
    (ws as SessionSocket)[kSession] = this;
    ws.on('message', onMessage);
    ws.on('ping', onPing);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
  }

  /** Joined topics (for tests and introspection). */
  get topicCount(): number {
    return channelCount(this.channels);
  }

  handleFrame(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    const now = Date.now();
    this.lastSeen = now;
    let msg: InboundMessage;
    try {
      msg = this.serializer.decode(data, isBinary);
    } catch (err) {
      if (!(err instanceof ProtocolError)) return this.fail(err);
      sm.rxInvalid.inc();
      sm.rejectedMalformed.inc();
      this.host.logger.debug({ code: err.code, user: this.principal.sub }, 'malformed frame: closing');
      this.close(CloseCode.malformedFrame);
      return;
    }
    if (now >= this.principal.expiresAt) return this.close(CloseCode.tokenExpired);
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
      } else if (msg.event === ACCESS_TOKEN_EVENT) {
        sm.rxPush.inc();
        this.refreshToken(msg);
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
    if (this.overTopicLimit(topic)) {
      span.end('limit');
      return this.replyError(joinRef, ref, topic, 'too many topics');
    }
    const params = msg.payload;
    invokeHandler(
      'join',
      () => handler.join({ topic, params, principal: this.principal, socketId: this.socketId }),
      (result) => {
        if (this.closing) return span.end('abandoned');
        // An asynchronous join may finish after other joins filled the connection up.
        if (this.overTopicLimit(topic)) {
          span.end('limit');
          return this.replyError(joinRef, ref, topic, 'too many topics');
        }
        this.joinDecided(msg, params, handler, result, span);
      },
      () => {
        sm.joinError.inc();
        span.end('error');
        if (!this.closing) this.replyError(joinRef, ref, topic, 'join failed');
      },
      this.host.logger,
      topic,
      (err) => this.fail(err, topic),
    );
  }

  private overTopicLimit(topic: string): boolean {
    const channels = this.channels;
    if (
      channelOf(channels, topic) !== undefined ||
      channelCount(channels) < this.host.limits.maxTopicsPerConnection
    ) {
      return false;
    }
    sm.joinLimit.inc();
    sm.rejectedTopicLimit.inc();
    return true;
  }

  /** The handler decided the join: presence churn, duplicate join, recovery, then the subscription. */
  private joinDecided(
    msg: InboundMessage,
    params: Record<string, unknown>,
    handler: ChannelHandler,
    result: JoinResult,
    span: SpanHandle,
  ): void {
    const { joinRef, ref, topic } = msg;
    const previous = channelOf(this.channels, topic);
    const recovery = parseRecoverParam(params.recover);
    // The churn limit is checked before a duplicate join closes the old channel: a refused rejoin
    // leaves the client its current channel instead of none.
    const churned =
      result.ok &&
      typeof recovery !== 'string' &&
      result.presence !== undefined &&
      !this.host.presenceChurn.take(topic, Date.now());
    if (churned) {
      sm.joinLimit.inc();
      sm.rejectedPresenceChurn.inc();
      span.end('limit');
      return this.replyError(joinRef, ref, topic, 'presence rate limited: retry later');
    }
    // Duplicate join: the old channel is closed (phx_close to its join_ref), the new join proceeds.
    if (previous) this.closeChannel(topic, previous, true, 'rejoin');
    if (!result.ok) {
      (result.reason === 'unauthorized' ? sm.joinUnauthorized : sm.joinError).inc();
      span.end(result.reason === 'unauthorized' ? 'unauthorized' : 'error');
      return this.replyError(joinRef, ref, topic, result.reason);
    }
    if (typeof recovery === 'string') {
      sm.joinError.inc();
      span.end('error');
      return this.replyError(joinRef, ref, topic, recovery);
    }
    const ch: JoinedChannel = {
      topic,
      joinRef,
      handler,
      assigns: result.assigns,
      presenceKey: null,
      presenceRef: null,
      positions: recovery !== undefined,
      held: recovery !== undefined ? [] : null,
      heldBytes: 0,
    };
    this.channels = withChannel(this.channels, ch);
    const response = result.response === undefined ? null : responseJson(result.response);
    if (response === null && result.response !== undefined) {
      metrics.channelHandlerErrors.labels('join').inc();
      this.host.logger.warn({ topic }, 'channel handler joined with a response that is not a JSON object');
    }
    this.host.hub
      .subscribe(topic, this, ch.positions, interceptSet(handler))
      .then(
        async () => {
          if (this.current(topic) !== ch) return span.end('abandoned');
          if (recovery !== undefined) {
            if (!(await this.recoverJoin(topic, ch, ref, recovery))) return span.end('abandoned');
          } else {
            sm.joinOk.inc();
            if (response === null) this.reply(joinRef, ref, topic);
            else this.send(encodeReplyWith(this.serializer, joinRef, ref, topic, 'ok', response));
          }
          span.end('ok');
          if (result.presence) this.trackPresence(topic, ch, result.presence.key, result.presence.meta);
        },
        (err: unknown) => {
          if (this.current(topic) !== ch) return span.end('abandoned');
          this.channels = withoutChannel(this.channels, topic);
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
    try {
      if (this.current(topic) !== ch) return false;
      sm.joinOk.inc();
      this.send(encodeReplyWith(this.serializer, ch.joinRef, ref, topic, 'ok', outcome.responseJson));
      sm.txReply.inc();
      // Streamed under backpressure: a gap larger than the outbound bound is sent as the client
      // reads it, never queued at once (which closed honest clients with 4008).
      const intercept = interceptSet(ch.handler);
      for (const pub of outcome.publications) {
        if (pub.except === this.socketId) continue;
        const frame = recoveredFrame(
          pub,
          this.serializer,
          intercept?.has(pub.event) ? (payload) => this.handleOut(topic, pub.event, payload) : undefined,
        );
        if (frame === null) {
          if (!intercept?.has(pub.event)) metrics.broadcastsUndeliverable.inc();
          continue;
        }
        if (!(await this.roomForRecovery(frame.length)) || this.current(topic) !== ch) return false;
        this.enqueue(frame);
        sm.txRecovered.inc();
      }
    } finally {
      outcome.release();
    }
    const held = ch.held ?? [];
    ch.held = null;
    for (const h of held) if (isAfter(h, outcome.top)) this.enqueue(h.frame);
    return true;
  }

  /** Hub: a broadcast for a topic joined with recovery; held back while that join recovers. */
  enqueuePositioned(topic: string, frame: Buffer, epoch?: string, offset?: number): void {
    const ch = channelOf(this.channels, topic);
    if (!ch?.held) return this.enqueue(frame);
    ch.heldBytes += frame.length;
    if (ch.heldBytes > this.host.limits.outboundQueueMaxBytes) return this.slowConsumer(ch.heldBytes);
    ch.held.push({ frame, epoch, offset });
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
        this.send(
          this.serializer.encode(ch.joinRef, null, topic, ChannelEvent.presenceState, JSON.stringify(state)),
        );
        sm.txPresence.inc();
      })
      .catch((err: unknown) => this.host.logger.warn({ err, topic }, 'presence track failed'));
  }

  /** A bug while handling this connection: log it and close with 1011; never take the process down. */
  private leave(msg: InboundMessage): void {
    sm.rxLeave.inc();
    const { joinRef, ref, topic } = msg;
    const ch = channelOf(this.channels, topic);
    this.reply(joinRef, ref, topic);
    if (ch && (joinRef === null || joinRef === ch.joinRef)) this.closeChannel(topic, ch, true, 'leave');
  }

  private push(msg: InboundMessage): void {
    sm.rxPush.inc();
    const { joinRef, ref, topic } = msg;
    const ch = channelOf(this.channels, topic);
    if (!ch || (joinRef !== null && joinRef !== ch.joinRef)) {
      return this.replyError(joinRef, ref, topic, 'unmatched topic');
    }
    if (isReservedEvent(msg.event)) return this.replyError(joinRef, ref, topic, 'reserved event');
    invokeHandler(
      'handle_in',
      () =>
        ch.handler.handleIn(
          { topic, message: msg, principal: this.principal, assigns: ch.assigns, socketId: this.socketId },
          this.pushActions(topic, ch),
        ),
      (result) => {
        if (this.closing || 'noReply' in result) return;
        if (!result.ok) {
          if (typeof result.reason === 'string') return this.replyError(joinRef, ref, topic, result.reason);
          metrics.channelHandlerErrors.labels('handle_in').inc();
          this.host.logger.warn({ topic }, 'channel handler refused a push without a string reason');
          return this.replyError(joinRef, ref, topic, 'handler failed');
        }
        if (result.response === undefined) return this.reply(joinRef, ref, topic);
        const json = responseJson(result.response);
        if (json === null) {
          metrics.channelHandlerErrors.labels('handle_in').inc();
          this.host.logger.warn(
            { topic },
            'channel handler replied with a response that is not a JSON object',
          );
          return this.replyError(joinRef, ref, topic, 'handler failed');
        }
        this.send(encodeReplyWith(this.serializer, joinRef, ref, topic, 'ok', json));
        sm.txReply.inc();
      },
      () => {
        if (!this.closing) this.replyError(joinRef, ref, topic, 'handler failed');
      },
      this.host.logger,
      topic,
      (err) => this.fail(err, topic),
    );
  }

  /** What a handler may do while handling one push (one small object per push). */
  private pushActions(topic: string, ch: JoinedChannel): PushActions {
    const host = this.host;
    return {
      broadcast: (t, message) => {
        host.broadcast(t, message);
        host.clientPushed(t, message, this.principal.sub);
      },
      broadcastFrom: (t, message) => {
        host.broadcast(t, message, this.socketId);
        host.clientPushed(t, message, this.principal.sub);
      },
      push: (event, payload) => {
        if (this.current(topic) !== ch) return;
        this.send(this.serializer.encode(ch.joinRef, null, topic, event, JSON.stringify(payload)));
        sm.txPush.inc();
      },
    };
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
    return this.closing ? undefined : channelOf(this.channels, topic);
  }

  /** Hub: an intercepted broadcast on `topic`, through the channel's handleOut (see hub.ts). */
  handleOut(topic: string, event: string, payload: unknown): unknown {
    const ch = this.current(topic);
    if (!ch) return null;
    return runHandleOut(
      ch.handler,
      {
        topic,
        event,
        payload,
        principal: this.principal,
        assigns: ch.assigns,
        socketId: this.socketId,
      },
      this.host.logger,
    );
  }

  private closeChannel(topic: string, ch: JoinedChannel, notify: boolean, reason: TerminateReason): void {
    this.channels = withoutChannel(this.channels, topic);
    this.host.hub.unsubscribe(topic, this);
    if (ch.presenceRef !== null && ch.presenceKey !== null) {
      this.host.presence
        .untrack(topic, ch.presenceKey, ch.presenceRef)
        .catch((err: unknown) => this.host.logger.warn({ err, topic }, 'presence untrack failed'));
    }
    if (notify) {
      this.send(this.serializer.encode(ch.joinRef, ch.joinRef, topic, ChannelEvent.close, '{}'));
      sm.txPush.inc();
    }
    const terminate = ch.handler.terminate;
    if (terminate === undefined) return;
    const closeCode = reason === 'closed' ? this.closeCode : undefined;
    const req = { topic, principal: this.principal, assigns: ch.assigns, socketId: this.socketId, reason };
    invokeHandler(
      'terminate',
      () => terminate.call(ch.handler, closeCode === undefined ? req : { ...req, closeCode }),
      noop,
      noop,
      this.host.logger,
      topic,
      (err) => this.host.logger.error({ err, topic }, 'terminate bookkeeping failed'),
    );
  }

  /** The server takes this connection out of `topic` (control API): the client gets `phx_close`. */
  leaveByServer(topic: string): boolean {
    const ch = this.current(topic);
    if (!ch) return false;
    this.closeChannel(topic, ch, true, 'unsubscribed');
    return true;
  }

  /**
   * Live delivery may have missed publications (the broker connection was lost): every channel
   * joined with recovery gets `phx_error`, so the client rejoins with its last position and
   * recovery fills what history holds. Channels without recovery carry on (at-most-once, as Phoenix).
   * Returns how many channels were told.
   */
  resyncRecoveryChannels(): number {
    if (this.closing) return 0;
    let n = 0;
    for (const ch of channelList(this.channels)) {
      const topic = ch.topic;
      if (!ch.positions) continue;
      this.closeChannel(topic, ch, false, 'resync');
      this.send(this.serializer.encode(ch.joinRef, ch.joinRef, topic, ChannelEvent.error, '{}'));
      sm.txPush.inc();
      n++;
    }
    return n;
  }

  protected releaseChannels(): void {
    const channels = channelList(this.channels);
    this.channels = null;
    for (const ch of channels) this.closeChannel(ch.topic, ch, false, 'closed');
  }

  handleClosed(code: number): void {
    this.closing = true;
    this.closeCode ||= code;
    this.out = null;
    this.releaseChannels();
    metrics.connections.dec();
    metrics.disconnects.labels(closeCodeLabel(this.closeCode || code)).inc();
    this.host.sessionClosed(this);
  }
}

function noop(): void {}

/** A push reply's response as JSON text, or null when it is not an encodable JSON object. */
function responseJson(v: unknown): string | null {
  if (!isPlainObject(v)) return null;
  try {
    return JSON.stringify(v);
  } catch {
    return null;
  }
}

// Shared listeners (`this` is the WebSocket): no closures per connection.
function onMessage(this: SessionSocket, data: Buffer, isBinary: boolean): void {
  this[kSession]?.handleFrame(data, isBinary);
}
function onPing(this: SessionSocket, data: Buffer): void {
  this[kSession]?.handleControl(data, true);
}
function onPong(this: SessionSocket, data: Buffer): void {
  this[kSession]?.handleControl(data, false);
}
function onError(this: SessionSocket, err: Error): void {
  this[kSession]?.handleTransportError(err);
}
function onClose(this: SessionSocket, code: number): void {
  const session = this[kSession];
  this[kSession] = undefined;
  session?.handleClosed(code);
}
