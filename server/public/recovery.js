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
