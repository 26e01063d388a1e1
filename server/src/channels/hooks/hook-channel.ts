import type { Principal } from '../../auth/principal.js';
import type { TopicMatcher } from '../../auth/topic-pattern.js';
import { MAX_FIELD_BYTES, isReservedEvent, type JsonInboundMessage } from '../../protocol/message.js';
import { MAX_PRESENCE_META_BYTES, createBroadcastChannel } from '../broadcast-channel.js';
import type {
  ChannelAssigns,
  ChannelHandler,
  JoinRequest,
  JoinResult,
  PushActions,
  PushRequest,
  PushResult,
} from '../channel.js';
import type { HookClient, HookName } from './client.js';

const PUBLISHER: ChannelAssigns = Object.freeze({ canPublish: true });
const LISTENER: ChannelAssigns = Object.freeze({ canPublish: false });

/** A join the backend allowed: presence meta to track with, or none. */
interface JoinAnswer {
  ok: true;
  meta: Record<string, unknown> | null;
}
type Refusal = { ok: false; reason: string };

/** A push the backend answered: the reply, and what to broadcast (nothing, the push, or a rewrite). */
interface PushAnswer {
  reply: PushResult;
  broadcast: null | 'as-pushed' | { event: string; payload: Record<string, unknown> };
}

/**
 * A channel handler whose decisions are the team's backend's (docs/hooks.md): `join` asks the join
 * hook, `handleIn` asks the push hook and replies with its answer (RPC), broadcasting what it says.
 * A callback whose hook is not enabled behaves as the built-in relay (the token's claims decide).
 * The backend being slow, down or wrong never takes the node down: the client gets an error reply
 * with a short reason (`backend unavailable`, `backend busy`, `backend error`).
 */
export function createHookChannel(
  client: HookClient,
  hooks: ReadonlySet<HookName>,
  presenceTopics: TopicMatcher,
): ChannelHandler {
  const relay = createBroadcastChannel(presenceTopics);
  return {
    async join(req: JoinRequest): Promise<JoinResult> {
      if (!hooks.has('join')) return relay.join(req);
      const { topic, params, principal } = req;
      const result = await client.call(
        'join',
        { topic, principal: hookPrincipal(principal), params },
        parseJoinAnswer,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      const answer = result.answer;
      if (!answer.ok) return answer;
      const assigns = principal.publish.matches(topic) ? PUBLISHER : LISTENER;
      if (!presenceTopics.matches(topic)) return { ok: true, assigns };
      return { ok: true, assigns, presence: { key: principal.sub, meta: answer.meta ?? {} } };
    },

    async handleIn(req: PushRequest, actions: PushActions): Promise<PushResult> {
      if (!hooks.has('push')) return relay.handleIn(req, actions);
      const { topic, message, principal } = req;
      if (message.binary) return { ok: false, reason: 'binary pushes are not sent to hooks' };
      const result = await client.call(
        'push',
        { topic, principal: hookPrincipal(principal), event: message.event, payload: message.payload },
        parsePushAnswer,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      const { reply, broadcast } = result.answer;
      if (broadcast === 'as-pushed') actions.broadcast(topic, message);
      else if (broadcast !== null) actions.broadcast(topic, rewritten(message, broadcast));
      return reply;
    },
  };
}

/** The principal as hooks see it: the user, and the connect hook's (or module's) assigns if any. */
export function hookPrincipal(p: Principal): { sub: string; assigns?: Readonly<Record<string, unknown>> } {
  return p.assigns === undefined ? { sub: p.sub } : { sub: p.sub, assigns: p.assigns };
}

function rewritten(
  message: JsonInboundMessage,
  b: { event: string; payload: Record<string, unknown> },
): JsonInboundMessage {
  return { ...message, event: b.event, payload: b.payload, payloadJson: JSON.stringify(b.payload) };
}

/** `{"ok": true, "meta"?: {...}}` or `{"ok": false, "reason": "..."}`; null for anything else. */
export function parseJoinAnswer(a: Record<string, unknown>): JoinAnswer | Refusal | null {
  if (a.ok === false) return isReason(a.reason) ? { ok: false, reason: a.reason } : null;
  if (a.ok !== true) return null;
  if (a.meta === undefined) return { ok: true, meta: null };
  return isObject(a.meta) && jsonBytes(a.meta) <= MAX_PRESENCE_META_BYTES ? { ok: true, meta: a.meta } : null;
}

/**
 * `{"reply": "ok", "response"?: {...}}`, `{"reply": "error", "reason": "..."}` or `{"reply": "none"}`,
 * each with an optional `"broadcast"`: `true` (the push as it came) or `{"event", "payload"}`.
 */
export function parsePushAnswer(a: Record<string, unknown>): PushAnswer | null {
  let reply: PushResult;
  if (a.reply === 'ok') {
    if (a.response !== undefined && !isObject(a.response)) return null;
    reply = a.response === undefined ? { ok: true } : { ok: true, response: a.response };
  } else if (a.reply === 'error') {
    if (!isReason(a.reason)) return null;
    reply = { ok: false, reason: a.reason };
  } else if (a.reply === 'none') {
    reply = { noReply: true };
  } else return null;
  const b = a.broadcast;
  if (b === undefined || b === false) return { reply, broadcast: null };
  if (b === true) return { reply, broadcast: 'as-pushed' };
  if (!isObject(b) || !isObject(b.payload) || typeof b.event !== 'string') return null;
  if (b.event === '' || Buffer.byteLength(b.event) > MAX_FIELD_BYTES || isReservedEvent(b.event)) return null;
  return { reply, broadcast: { event: b.event, payload: b.payload } };
}

/** A backend's reason: a non-empty string a protocol field can carry. */
export function isReason(v: unknown): v is string {
  return typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= MAX_FIELD_BYTES;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v));
}
