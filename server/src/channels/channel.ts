import type { Principal } from '../auth/principal.js';
import type { InboundMessage } from '../protocol/message.js';

/**
 * A channel handler: what a topic does when clients join it, push to it and receive from it
 * (docs/channels.md). Handlers are stateless (per-join state lives in the `assigns` they return),
 * so one handler object serves every connection. `join`, `handleIn` and `terminate` may return a
 * promise; a callback that throws or rejects never takes the node down: the client gets an error
 * reply (a join: `join failed`, a push: `handler failed`), the error is logged and counted in
 * switchboard_channel_handler_errors_total{callback}.
 *
 * `A` is the type of the assigns `join` returns and the other callbacks get back.
 */
export interface ChannelHandler<A extends object = ChannelAssigns> {
  /** Decides a join. Runs before the node subscribes to the topic. */
  join(req: JoinRequest): JoinResult<A> | Promise<JoinResult<A>>;
  /** Handles a client push on a joined topic; `actions` performs side effects such as broadcasts. */
  handleIn(req: PushRequest<A>, actions: PushActions): PushResult | Promise<PushResult>;
  /**
   * Events whose broadcasts go through `handleOut` for each subscriber of this handler (Phoenix's
   * `intercept`). Broadcasts of other events keep the encode-once fan-out.
   */
  readonly intercept?: readonly string[];
  /**
   * Filters or rewrites one intercepted broadcast for one subscriber, on the node that delivers it
   * (every node). Synchronous, so delivery order is kept. Returns the payload to send: the same
   * `payload` object (sent as the shared frame, no encoding), another JSON object (encoded for this
   * subscriber alone), or null to drop it for this subscriber. Throwing drops it and is counted
   * (`callback="handle_out"`). Cost: docs/channels.md.
   */
  handleOut?(req: OutRequest<A>): unknown;
  /**
   * The channel ended for this connection: the client left, joined again, was taken out by the
   * server, or the connection closed (drain included). Runs after the node let go of the channel;
   * its outcome is not waited for (failures are logged and counted, `callback="terminate"`).
   */
  terminate?(req: TerminateRequest<A>): void | Promise<void>;
}

export interface JoinRequest {
  topic: string;
  /** The join payload (always a JSON object). */
  params: Record<string, unknown>;
  principal: Principal;
  /** This connection's id, unique over the cluster (`<nodeId>#<n>`). */
  socketId: string;
}

/**
 * Per-join state a handler keeps (the built-in relay keeps `canPublish`); share one frozen object
 * where you can: it is stored per connection and topic.
 */
export type ChannelAssigns = Readonly<Record<string, unknown>>;

export type JoinResult<A extends object = ChannelAssigns> =
  | {
      ok: true;
      assigns: A;
      /** Tracked in presence under `key` with `meta` (plus phx_ref and online_at); omit for no presence. */
      presence?: { key: string; meta: Record<string, unknown> };
      /** The join reply's payload (a JSON object); `{}` when omitted. */
      response?: Record<string, unknown>;
    }
  | { ok: false; reason: string };

export interface PushRequest<A extends object = ChannelAssigns> {
  topic: string;
  message: InboundMessage;
  principal: Principal;
  assigns: A;
  socketId: string;
}

export interface OutRequest<A extends object = ChannelAssigns> {
  topic: string;
  event: string;
  /**
   * The broadcast payload, parsed once and shared by every subscriber: never mutate it. A JSON
   * value (an object for what the phoenix client pushes), or a Buffer for a binary broadcast (which
   * can be passed or dropped, not rewritten).
   */
  payload: unknown;
  principal: Principal;
  assigns: A;
  socketId: string;
}

/** Why a channel ended for a connection. */
export type TerminateReason =
  /** The client left (`phx_leave`). */
  | 'leave'
  /** The client joined the same topic again: the old channel ends, the new one starts. */
  | 'rejoin'
  /** The server took the user out (control API `unsubscribe`). */
  | 'unsubscribed'
  /** The broker came back after a loss: recovery channels are told to rejoin. */
  | 'resync'
  /** The connection closed (`closeCode` says why; 1012 is a drain). */
  | 'closed';

export interface TerminateRequest<A extends object = ChannelAssigns> {
  topic: string;
  principal: Principal;
  assigns: A;
  socketId: string;
  reason: TerminateReason;
  /** The WebSocket close code when `reason` is `closed` (1012: the server drains; 1000/1001/1005: the client went). */
  closeCode?: number;
}

/**
 * The reply to a push: `ok` with an optional `response` object (default `{}`), or `error` with
 * `{reason}`. The response must be JSON-encodable; one that is not counts as a handler failure.
 */
export type PushResult =
  | { ok: true; response?: Record<string, unknown> }
  | { ok: false; reason: string }
  /** No reply at all (Phoenix's `{:noreply, socket}`): the client's push times out on its own timer. */
  | { noReply: true };

/** A message to broadcast: a client push as it came in, or an event and JSON object payload of your own. */
export type BroadcastMessage = InboundMessage | { event: string; payload: Record<string, unknown> };

/** What a handler may do besides replying. */
export interface ChannelActions {
  /**
   * Broadcasts `message` to every subscriber of `topic` on every node, through the broker and
   * history, as the built-in relay does. A payload that is not JSON-encodable throws.
   */
  broadcast(topic: string, message: BroadcastMessage): void;
}

/** The actions of one push: the node's, plus those that know the pushing connection. */
export interface PushActions extends ChannelActions {
  /** Like `broadcast`, but the pushing connection does not get it (on its node; others never had it). */
  broadcastFrom(topic: string, message: BroadcastMessage): void;
  /** Sends `event` with a JSON object `payload` on this topic to the pushing connection only. */
  push(event: string, payload: Record<string, unknown>): void;
}
