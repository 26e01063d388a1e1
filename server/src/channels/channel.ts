import type { Principal } from '../auth/principal.js';
import type { InboundMessage } from '../protocol/message.js';

/**
 * A channel handler: what a topic does when clients join it and push to it (docs/channels.md).
 * Handlers are stateless (per-join state lives in the `assigns` they return), so one handler
 * object serves every connection. Either callback may return a promise; a callback that throws or
 * rejects never takes the node down: the client gets an error reply (a join: `join failed`, a push:
 * `handler failed`), the error is logged and counted in switchboard_channel_handler_errors_total.
 */
export interface ChannelHandler {
  /** Decides a join. Runs before the node subscribes to the topic. */
  join(req: JoinRequest): JoinResult | Promise<JoinResult>;
  /** Handles a client push on a joined topic; `actions` performs side effects such as broadcasts. */
  handleIn(req: PushRequest, actions: PushActions): PushResult | Promise<PushResult>;
}

export interface JoinRequest {
  topic: string;
  /** The join payload (always a JSON object). */
  params: Record<string, unknown>;
  principal: Principal;
}

/** Per-join state a handler keeps; shared objects are encouraged (it is stored per connection and topic). */
export interface ChannelAssigns {
  readonly canPublish: boolean;
}

export type JoinResult =
  | {
      ok: true;
      assigns: ChannelAssigns;
      /** Tracked in presence under `key` with `meta` (plus phx_ref and online_at); omit for no presence. */
      presence?: { key: string; meta: Record<string, unknown> };
    }
  | { ok: false; reason: string };

export interface PushRequest {
  topic: string;
  message: InboundMessage;
  principal: Principal;
  assigns: ChannelAssigns;
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

/** What a handler may do besides replying. */
export interface ChannelActions {
  /** Broadcasts the pushed message's event and payload to every subscriber of `topic` on every node. */
  broadcast(topic: string, message: InboundMessage): void;
}

/** The actions of one push: the node's, plus sending to the pushing connection alone. */
export interface PushActions extends ChannelActions {
  /** Sends `event` with a JSON object `payload` on this topic to the pushing connection only. */
  push(event: string, payload: Record<string, unknown>): void;
}
