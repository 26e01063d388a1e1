// Switchboard message recovery for the official `phoenix` JavaScript client (docs/recovery.md).
//
//   import { Socket } from 'phoenix';
//   import { recoverableChannel } from '/recovery.js';
//   const room = recoverableChannel(socket, 'room:lobby', {
//     onMessage: (event, payload, position) => render(event, payload),
//     onReset: () => reloadStateFromYourBackend(), // history could not fill the gap
//   });
//   room.channel.join();
//
// It keeps the position ({epoch, offset}) of the last message received, sends it in the join params
// on every (re)join (the phoenix client re-reads params, a function, at each join), and drops
// messages it has already seen (by offset), so the application sees each message once, in order.
// It also honours the reconnect delay a draining server suggests in its 1012 close (reconnectHint).

/** Parses the ref slot of a broadcast to an opted-in client: "<epoch>:<offset>", else null. */
export function parsePosition(ref) {
  if (typeof ref !== 'string') return null;
  const i = ref.lastIndexOf(':');
  if (i <= 0) return null;
  const offset = Number(ref.slice(i + 1));
  if (!Number.isSafeInteger(offset) || offset <= 0) return null;
  return { epoch: ref.slice(0, i), offset };
}

/**
 * Creates `socket.channel(topic)` with recovery. Options:
 * - `params`: other join params (an object);
 * - `onMessage(event, payload, position)`: each application message, once and in order
 *   (`position` is null for messages without one, e.g. binary ones);
 * - `onJoin(response)`: each successful (re)join, with `{recovered, epoch, offset, reason?}`;
 * - `onReset(response)`: a rejoin that could NOT recover (`recovered: false`): messages were
 *   missed, reload the state from your backend (GET /api/topics/:topic/messages can help);
 * - `position`: a position saved earlier (e.g. in sessionStorage), to resume after a page reload.
 * Returns `{ channel, position() }`. Register extra events with `on(event)` before joining;
 * `on` does that for you for every event you name in `events` (default: every non-phx event via
 * `channel.onMessage`).
 */
export function recoverableChannel(socket, topic, options = {}) {
  honourReconnectHints(socket);
  let last = options.position ?? null;
  const extra = options.params ?? {};
  const channel = socket.channel(topic, () => ({ ...extra, recover: last ? { ...last } : true }));

  const accept = (event, payload, ref) => {
    const position = parsePosition(ref);
    if (position) {
      if (last && position.epoch === last.epoch && position.offset <= last.offset) return false;
      last = position;
    }
    options.onMessage?.(event, payload, position);
    return true;
  };

  // Every broadcast passes through onMessage(event, payload, ref) before the bindings.
  const inner = channel.onMessage.bind(channel);
  channel.onMessage = (event, payload, ref, joinRef) => {
    if (!isReserved(event)) accept(event, payload, ref);
    return inner(event, payload, ref, joinRef);
  };

  channel.joinPush.receive('ok', (response) => {
    if (response && typeof response.epoch === 'string') {
      if (!response.recovered) {
        // Nothing of the gap comes: continue from the topic's current position.
        const hadPosition = last !== null;
        last = { epoch: response.epoch, offset: response.offset };
        if (hadPosition) options.onReset?.(response);
      } else if (!last) {
        last = { epoch: response.epoch, offset: response.offset };
      }
      // recovered with a position: the missed messages follow and move `last` forward themselves.
    } else if (response && response.recovered === false && last) {
      options.onReset?.(response); // "unavailable": keep the position and try again on the next rejoin
    }
    options.onJoin?.(response);
  });

  return { channel, position: () => (last ? { ...last } : null) };
}

function isReserved(event) {
  return event.startsWith('phx_') || event.startsWith('presence_') || event.startsWith('chan_reply_');
}

/** The largest suggested delay accepted (the server never suggests more). */
const MAX_RECONNECT_AFTER_MS = 600000;

/**
 * The reconnect delay (ms) a draining server suggests in a close event: code 1012 with the reason
 * `{"reason":"service restart","reconnect_after_ms":N}`. Null for any other close.
 */
export function reconnectHint(event) {
  if (!event || event.code !== 1012 || typeof event.reason !== 'string') return null;
  let parsed;
  try {
    parsed = JSON.parse(event.reason);
  } catch {
    return null;
  }
  const ms = parsed && typeof parsed === 'object' ? parsed.reconnect_after_ms : undefined;
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_RECONNECT_AFTER_MS ? ms : null;
}

const hinted = new WeakSet();

/**
 * Makes `socket` wait the server's suggested delay before reconnecting after a drain's 1012, instead
 * of its own first backoff step (10 ms in phoenix 1.8): the clients of one drain batch then come
 * back spread over the batch interval rather than all at once. Once per socket; recoverableChannel
 * calls it.
 */
export function honourReconnectHints(socket) {
  if (hinted.has(socket)) return;
  hinted.add(socket);
  socket.onClose((event) => {
    const ms = reconnectHint(event);
    const timer = socket.reconnectTimer;
    // phoenix scheduled its own reconnect before calling onClose (unless it closed the connection itself).
    if (ms === null || socket.closeWasClean || !timer || timer.timer === null) return;
    clearTimeout(timer.timer);
    // A timer counts from the event loop's cached clock, which lags the wall clock by however long the
    // loop has been busy (a burst of closes): re-arm until the hint has passed by the wall clock too.
    const due = Date.now() + ms;
    const fire = () => {
      const left = due - Date.now();
      if (left > 0) {
        timer.timer = setTimeout(fire, left);
        return;
      }
      timer.tries = timer.tries + 1;
      timer.callback();
    };
    timer.timer = setTimeout(fire, ms);
  });
}
