import { TopicMatcher } from '../../auth/topic-pattern.js';
import { MAX_FIELD_BYTES, isReservedEvent } from '../../protocol/message.js';
import type { ConnectHandler, ConnectResult } from '../connect.js';
import type { ApiPublication, PublishGate } from '../publish-gate.js';
import type { HookClient } from './client.js';
import { hookPrincipal, isObject, isReason } from './hook-channel.js';

/**
 * The connect hook as a ConnectHandler: the backend allows (with assigns) or refuses each
 * connection. A backend that gives no usable answer fails the connection with a 500 (the client
 * backs off and retries) rather than a 403 that would blame the user.
 */
export function createConnectHook(client: HookClient): ConnectHandler {
  return async ({ params, principal }) => {
    const result = await client.call(
      'connect',
      { principal: hookPrincipal(principal), params },
      parseConnectAnswer,
    );
    if (!result.ok) throw new Error(`connect hook: ${result.reason}`);
    return result.answer;
  };
}

/**
 * The publish hook for `POST /api/broadcast` on HOOKS_TOPICS: the backend allows, rewrites or
 * refuses each publication; other topics pass untouched. Fails closed: no usable answer is a 503.
 */
export function createPublishHook(client: HookClient, topics: readonly string[]): PublishGate {
  const hooked = new TopicMatcher(topics);
  return async (pub) => {
    if (!hooked.matches(pub.topic)) return { ok: true, publication: pub };
    const result = await client.call(
      'publish',
      { topic: pub.topic, source: 'api', event: pub.event, payload: pub.payload },
      (a) => parsePublishAnswer(a, pub),
    );
    if (!result.ok) return { ok: false, status: 503, reason: result.reason };
    return result.answer;
  };
}

/** `{"ok": true, "assigns"?: {...}}` or `{"ok": false, "reason": "..."}`; null for anything else. */
export function parseConnectAnswer(a: Record<string, unknown>): ConnectResult | null {
  if (a.ok === false) return isReason(a.reason) ? { ok: false, reason: a.reason } : null;
  if (a.ok !== true) return null;
  if (a.assigns === undefined) return { ok: true };
  return isObject(a.assigns) ? { ok: true, assigns: a.assigns } : null;
}

/**
 * `{"allow": true}` (as sent), `{"allow": true, "event"?, "payload"?}` (rewritten) or
 * `{"allow": false, "reason": "..."}`; null for anything else.
 */
export function parsePublishAnswer(
  a: Record<string, unknown>,
  pub: ApiPublication,
): { ok: true; publication: ApiPublication } | { ok: false; status: 403; reason: string } | null {
  if (a.allow === false) return isReason(a.reason) ? { ok: false, status: 403, reason: a.reason } : null;
  if (a.allow !== true) return null;
  const event = a.event === undefined ? pub.event : a.event;
  if (typeof event !== 'string' || !isEventName(event)) return null;
  // Only an absent payload means "as published": `null` is a rewrite like any other JSON value.
  const payload = a.payload === undefined ? pub.payload : a.payload;
  return { ok: true, publication: { topic: pub.topic, event, payload } };
}

function isEventName(e: string): boolean {
  return e !== '' && Buffer.byteLength(e) <= MAX_FIELD_BYTES && !isReservedEvent(e);
}
