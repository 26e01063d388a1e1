import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Principal } from './auth/principal.js';
import { AuthError, type TokenVerifier } from './auth/verifier.js';
import { payloadJsonOf, type Broker, type Publication } from './broker/broker.js';
import type { BroadcastMessage, ChannelActions } from './channels/channel.js';
import { admit, type Admission, type ConnectHandler } from './channels/connect.js';
import type { ApiPublication, PublishDecision, PublishGate } from './channels/publish-gate.js';
import { CONTROL_TOPIC } from './cluster/control-messages.js';
import { ControlPlane, type LocalControl } from './cluster/control-plane.js';
import { NodeRelay } from './cluster/node-relay.js';
import { createDefaultRouter, type ChannelRouter } from './channels/router.js';
import type { Limits } from './config.js';
import { Hub } from './hub/hub.js';
import { PresenceBatcher } from './hub/presence-batcher.js';
import { CloseCode } from './protocol/close-codes.js';
import { ChannelEvent, type InboundMessage } from './protocol/message.js';
import type { PresenceTracker } from './presence/presence.js';
import type { Serializer } from './protocol/serializer.js';
import { PresenceChurnLimiter } from './session/presence-churn.js';
import type { SessionHost } from './session/session-host.js';
import { Session } from './session/session.js';
import type { RateLimit } from './session/token-bucket.js';
import type { HistoryAccess } from './store/index.js';
import { isSequenced } from './store/sequencer.js';
import type { Logger } from './telemetry/logger.js';
import { metrics } from './telemetry/metrics.js';
import type { ClientEventSink } from './webhooks/webhooks.js';

/** How long a node waits, after the broker is back, for the history sequencer before telling rejoins. */
const sequencerWaitMs = 10_000;

export interface NodeOptions {
  nodeId: string;
  limits: Limits;
  presenceBatchMs: number;
  broker: Broker;
  presence: PresenceTracker;
  /** Sequencer + durable store (store/index.ts `createHistory`); already started. */
  history: HistoryAccess;
  logger: Logger;
  router?: ChannelRouter;
  /** Decides who may connect, after the JWT (channels module `connect`); none: everyone with a valid token. */
  connect?: ConnectHandler;
  /** Decides POST /api/broadcast publications before they are published (the publish hook). */
  publishGate?: PublishGate;
  /** WEBHOOK_CLIENT_EVENTS: told of every broadcast a client push made (docs/webhooks.md). */
  clientEvents?: ClientEventSink;
  /** Verifies tokens handed over on live connections; without it such refreshes are refused. */
  verifyToken?: TokenVerifier;
  /** Hello interval and census timeout of the control plane (cluster/control-plane.ts). */
  control?: { helloIntervalMs?: number; censusTimeoutMs?: number };
  /**
   * POST /api/broadcast is answered only once its publication is sequenced. A worker (WORKERS>1)
   * sets it: two requests answered one after the other may reach different workers, and only the
   * primary's sequencing orders them, so the second must not start before the first is sequenced.
   */
  apiAwaitsSequencing?: boolean;
}

/** Where a publication entered this node (the `source` label of switchboard_publishes_total). */
export type PublishSource = 'client' | 'api';

/** A payload to publish: JSON (with its text, encoded once) or raw bytes. */
export type PublishPayload = { json: string; value: unknown } | { bytes: Buffer };

/**
 * One replica: its sessions, local fan-out (hub), presence batching and the bridge to the broker.
 * Transport-agnostic: the HTTP layer hands it authenticated WebSockets via `accept`.
 */
export class SwitchboardNode implements SessionHost, ChannelActions, LocalControl {
  readonly nodeId: string;
  readonly limits: Limits;
  readonly rateLimit: RateLimit;
  readonly hub: Hub;
  readonly router: ChannelRouter;
  readonly presence: PresenceTracker;
  readonly presenceChurn: PresenceChurnLimiter;
  readonly history: HistoryAccess;
  readonly logger: Logger;
  readonly verifyToken: TokenVerifier;
  /** Open sessions (heartbeat sweep and drain walk it). */
  readonly sessions = new Set<Session>();
  /** Commands and counts over every node (the control API). */
  readonly control: ControlPlane;
  /** Messages to one other node (the LongPoll transport reaches sessions on other nodes with it). */
  readonly relay: NodeRelay;
  private readonly broker: Broker;
  private readonly connectHandler: ConnectHandler | undefined;
  private readonly publishGate: PublishGate | undefined;
  private readonly apiAwaitsSequencing: boolean;
  private readonly clientEvents: ClientEventSink | undefined;
  private readonly batcher: PresenceBatcher;
  private readonly presenceSent = metrics.messagesSent.labels('presence');
  private readonly clientPublishes = metrics.publishes.labels('client');
  private readonly apiPublishes = metrics.publishes.labels('api');
  private draining = false;
  private closed = false;
  private lastAppendErrorLog = 0;
  /** The broker connection was lost since start: live delivery from other nodes may have gaps. */
  private lostBroker = false;
  private appendErrorsSinceLog = 0;

  constructor(opts: NodeOptions) {
    this.nodeId = opts.nodeId;
    this.limits = opts.limits;
    this.rateLimit = { perSecond: opts.limits.rateLimitPerSecond, burst: opts.limits.rateLimitBurst };
    this.broker = opts.broker;
    this.connectHandler = opts.connect;
    this.publishGate = opts.publishGate;
    this.apiAwaitsSequencing = opts.apiAwaitsSequencing ?? false;
    this.clientEvents = opts.clientEvents;
    this.presence = opts.presence;
    this.presenceChurn = new PresenceChurnLimiter(
      opts.limits.presenceChurnPerSecond,
      opts.limits.presenceChurnBurst,
    );
    this.history = opts.history;
    this.logger = opts.logger;
    this.verifyToken =
      opts.verifyToken ??
      (() => Promise.reject(new AuthError('invalid_token', 'token refresh is not configured')));
    this.router = opts.router ?? createDefaultRouter();
    this.hub = new Hub(opts.broker, opts.presence, opts.logger);
    this.batcher = new PresenceBatcher(opts.presenceBatchMs, (topic, diff) => {
      this.hub.broadcastJson(
        topic,
        ChannelEvent.presenceDiff,
        JSON.stringify(diff),
        undefined,
        this.presenceSent,
      );
    });
    this.broker.onPublication((pub) => this.onPublication(pub));
    this.broker.onConnectionChange((connected) => {
      if (this.closed) return;
      if (!connected) metrics.brokerErrors.labels('connection').inc();
      this.logger[connected ? 'info' : 'warn']({ connected }, 'broker connection changed');
      if (!connected) this.lostBroker = true;
      else if (this.lostBroker) {
        this.lostBroker = false;
        // Rejoins recover through the sequencer, whose own Redis connection can come back later
        // than the broker's: told to rejoin before it does, clients would get recovered=false.
        void this.history.whenReady(sequencerWaitMs).then((ready) => {
          if (this.closed) return;
          if (!ready) this.logger.warn('broker back, history sequencer still away: rejoins may not recover');
          this.resyncRecoveryChannels();
        });
      }
    });
    this.presence.onDiff((topic, diff) => this.batcher.add(topic, diff));
    this.control = new ControlPlane({
      nodeId: opts.nodeId,
      broker: opts.broker,
      local: this,
      logger: opts.logger,
      ...opts.control,
    });
    this.relay = new NodeRelay(opts.nodeId, opts.broker, opts.logger);
  }

  async start(): Promise<void> {
    await this.broker.start();
    await this.presence.start();
    await this.relay.start();
    await this.control.start();
  }

  /** LocalControl: closes every connection of `sub` on this node with 4003. */
  disconnectUser(sub: string): number {
    let n = 0;
    for (const s of this.sessions) {
      if (s.principal.sub !== sub || s.isClosing) continue;
      s.close(CloseCode.disconnected);
      n++;
    }
    if (n > 0) this.logger.info({ user: sub, connections: n }, 'user disconnected by the control API');
    return n;
  }

  /** LocalControl: takes `sub` out of `topic` on this node. */
  unsubscribeUser(sub: string, topic: string): number {
    let n = 0;
    for (const s of this.sessions) if (s.principal.sub === sub && s.leaveByServer(topic)) n++;
    return n;
  }

  topicCounts(): Iterable<[string, number]> {
    return this.hub.topicCounts();
  }

  subscriberCount(topic: string): number {
    return this.hub.subscriberCount(topic);
  }

  connectionCount(): number {
    return this.sessions.size;
  }

  /** Runs the connect handler for a verified principal (before the transport accepts the connection). */
  admit(principal: Principal, query: URLSearchParams): Promise<Admission> {
    return admit(this.connectHandler, principal, query, this.logger);
  }

  /** Takes over an upgraded, authenticated WebSocket that speaks `serializer`. */
  accept(ws: WebSocket, socket: Duplex, principal: Principal, serializer: Serializer): Session {
    const session = new Session(this, ws, socket, principal, serializer);
    this.sessions.add(session);
    metrics.connections.inc();
    return session;
  }

  sessionClosed(session: Session): void {
    this.sessions.delete(session);
  }

  /**
   * ChannelActions: a client push (or a handler's own event) broadcast to the topic on every node;
   * with `except`, the connection of that id does not get it (broadcast_from). Throws when a
   * handler's payload cannot be encoded as JSON.
   */
  broadcast(topic: string, message: BroadcastMessage, except?: string): void {
    const payload: PublishPayload = !isInbound(message)
      ? { json: JSON.stringify(message.payload), value: message.payload }
      : message.binary
        ? { bytes: message.payload }
        : { json: message.payloadJson, value: message.payload };
    if ('json' in payload && typeof payload.json !== 'string') {
      throw new TypeError('broadcast payload is not JSON-encodable');
    }
    this.clientPublishes.inc();
    void this.publish(topic, message.event, payload, except);
  }

  /**
   * SessionHost: `sub`'s push made this broadcast (after it went out). Sent as a `client_event`
   * webhook when WEBHOOK_CLIENT_EVENTS names the topic; binary payloads are not (no JSON to send).
   */
  clientPushed(topic: string, message: BroadcastMessage, sub: string): void {
    if (!this.clientEvents) return;
    if (!isInbound(message)) {
      const payloadJson = JSON.stringify(message.payload);
      return this.clientEvents({ topic, event: message.event, sub, payloadJson });
    }
    if (!message.binary)
      this.clientEvents({ topic, event: message.event, sub, payloadJson: message.payloadJson });
  }

  /**
   * A publication from the HTTP API (`POST /api/broadcast`) offered to the publish hook: published
   * as allowed (maybe rewritten), or the refusal the caller answers with.
   */
  async offerFromApi(pub: ApiPublication): Promise<PublishDecision> {
    const decision = this.publishGate ? await this.publishGate(pub) : { ok: true as const, publication: pub };
    if (decision.ok) {
      const { topic, event, payload } = decision.publication;
      const sequenced = this.publishFromApi(topic, event, payload);
      if (this.apiAwaitsSequencing) await sequenced;
    }
    return decision;
  }

  /** A publication from the HTTP API (`POST /api/broadcast`); resolves once sequenced (or failed to be). */
  publishFromApi(topic: string, event: string, payload: unknown): Promise<void> {
    this.apiPublishes.inc();
    return this.publish(topic, event, { json: JSON.stringify(payload), value: payload });
  }

  /**
   * Sequences the publication (epoch/offset from the history layer), then delivers it:
   * - Redis sequencer (`deliversToNodes`): its script already published it on the topic channel,
   *   and every node, this one included, delivers it when it comes back there. One source of
   *   delivery means every node delivers a topic's publications in offset order.
   * - Memory sequencer: delivered locally once sequenced, then handed to the broker.
   * - Sequencer unreachable (Redis down): delivered locally at once without a position, counted as
   *   a broker publish error; local delivery goes on while cross-node delivery cannot.
   * Appends are issued in call order on one connection, so one publisher's messages stay in order.
   * Resolves (never rejects) once the append settled.
   */
  private publish(topic: string, event: string, payload: PublishPayload, except?: string): Promise<void> {
    const publishedAt = Date.now();
    const binary = 'bytes' in payload;
    const pub: Publication = { topic, event, origin: this.nodeId, publishedAt };
    if (except !== undefined) pub.except = except;
    // JSON travels (and is stored) as the publisher's text, so every reader gets the same bytes.
    if (binary) {
      pub.payload = payload.bytes.toString('base64');
      pub.binary = true;
    } else {
      pub.payloadJson = payload.json;
    }
    const started = performance.now();
    return this.history.append(pub).then(
      (sequenced) => {
        if (this.history.deliversToNodes) {
          metrics.brokerPublishLatency.observe((performance.now() - started) / 1000);
          return;
        }
        this.deliverLocally(topic, event, payload, publishedAt, sequenced, except);
        this.broker.publish(sequenced).then(
          () => metrics.brokerPublishLatency.observe((performance.now() - started) / 1000),
          (err: unknown) => this.publishFailed(err, topic, 'broker publish failed'),
        );
      },
      (err: unknown) => {
        this.deliverLocally(topic, event, payload, publishedAt, undefined, except);
        this.publishFailed(
          err,
          topic,
          'history append failed: delivered to this node only, without position',
        );
      },
    );
  }

  private deliverLocally(
    topic: string,
    event: string,
    payload: PublishPayload,
    publishedAt: number,
    position: { epoch: string; offset: number } | undefined,
    except: string | undefined,
  ): void {
    if ('bytes' in payload) {
      this.hub.broadcastBinary(topic, event, payload.bytes, publishedAt, position, except);
    } else this.hub.broadcastJson(topic, event, payload.json, publishedAt, undefined, position, except);
  }

  /** Counts and logs (at most one line per 10 s, with how many failed since) a failed publish. */
  private publishFailed(err: unknown, topic: string, msg: string): void {
    metrics.brokerErrors.labels('publish').inc();
    this.appendErrorsSinceLog++;
    const now = Date.now();
    if (now - this.lastAppendErrorLog < 10_000) return;
    this.lastAppendErrorLog = now;
    this.logger.warn({ err, topic, failures: this.appendErrorsSinceLog }, msg);
    this.appendErrorsSinceLog = 0;
  }

  private onPublication(pub: Publication): void {
    if (pub.topic === CONTROL_TOPIC) return this.control.receive(pub);
    if (pub.topic === this.relay.topic) return this.relay.receive(pub);
    const position = isSequenced(pub) ? { epoch: pub.epoch, offset: pub.offset } : undefined;
    // Own publications come back only from the Redis sequencer's channel; those carry a position
    // and are delivered here (see `publish`). Unsequenced own ones were delivered already.
    if (pub.origin === this.nodeId && position === undefined) return;
    if (typeof pub.topic !== 'string' || typeof pub.event !== 'string') {
      this.logger.warn({ origin: pub.origin }, 'dropped publication without topic/event');
      return;
    }
    if (pub.binary && typeof pub.payload === 'string') {
      this.hub.broadcastBinary(
        pub.topic,
        pub.event,
        Buffer.from(pub.payload, 'base64'),
        pub.publishedAt,
        position,
        pub.except,
      );
    } else {
      let json: string;
      try {
        json = payloadJsonOf(pub);
      } catch (err) {
        this.logger.warn({ err, origin: pub.origin }, 'dropped publication whose payload cannot be encoded');
        return;
      }
      this.hub.broadcastJson(pub.topic, pub.event, json, pub.publishedAt, undefined, position, pub.except);
    }
  }

  /**
   * After the broker connection came back: channels joined with recovery are told to rejoin
   * (phx_error), so their clients recover what they missed while it was away.
   */
  private resyncRecoveryChannels(): void {
    let channels = 0;
    for (const s of this.sessions) channels += s.resyncRecoveryChannels();
    if (channels > 0) {
      this.logger.info(
        { channels },
        'broker back: channels with recovery told to rejoin and recover the gap',
      );
    }
  }

  /** Ready for traffic: broker connected and not draining. */
  isReady(): boolean {
    return !this.draining && this.broker.isConnected();
  }

  get brokerConnected(): boolean {
    return this.broker.isConnected();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Flips readiness off and makes the transport refuse new connections (see transport/drain.ts). */
  startDraining(): void {
    this.draining = true;
  }

  /** Stops batching and disconnects presence and broker (after sessions are closed). */
  async close(): Promise<void> {
    this.closed = true;
    this.batcher.flush();
    this.batcher.close();
    await this.control.close();
    await this.presence.close();
    await this.broker.close();
  }
}

function isInbound(m: BroadcastMessage): m is InboundMessage {
  return 'binary' in m && 'joinRef' in m;
}
