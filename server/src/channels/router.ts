import type { Principal } from '../auth/principal.js';
import { matchTopicPattern } from '../auth/topic-pattern.js';
import { broadcastChannel } from './broadcast-channel.js';
import type { ChannelHandler } from './channel.js';

/** A route: which topics a handler serves. `pattern` uses the topic pattern syntax (`room:*`). */
export interface Route {
  /** Pattern, or a function for routes that depend on the user. */
  pattern: string | ((topic: string, principal: Principal) => boolean);
  handler: ChannelHandler;
}

/**
 * Routes topics to channel handlers, first match wins. A topic no route matches is answered
 * `unmatched topic` (as Phoenix does); a matched route may still refuse the join (`unauthorized`).
 */
export class ChannelRouter {
  constructor(private readonly routes: readonly Route[]) {}

  match(topic: string, principal: Principal): ChannelHandler | null {
    for (const r of this.routes) {
      const hit =
        typeof r.pattern === 'string' ? matchTopicPattern(r.pattern, topic) : r.pattern(topic, principal);
      if (hit) return r.handler;
    }
    return null;
  }
}

/**
 * The default routes: `room:*` is a broadcast channel with presence, and so is any other topic the
 * user's `join` claim permits. Everything else is unmatched.
 */
export function createDefaultRouter(): ChannelRouter {
  return new ChannelRouter([
    { pattern: 'room:*', handler: broadcastChannel },
    { pattern: (topic, principal) => principal.join.matches(topic), handler: broadcastChannel },
  ]);
}
