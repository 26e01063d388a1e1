import type { Principal } from '../auth/principal.js';
import { matchTopicPattern, TopicMatcher } from '../auth/topic-pattern.js';
import { isReservedTopic } from '../protocol/message.js';
import { createBroadcastChannel } from './broadcast-channel.js';
import type { ChannelHandler } from './channel.js';

/** A route: which topics a handler serves. `pattern` uses the topic pattern syntax (`room:*`). */
export interface Route {
  /** Pattern, or a function for routes that depend on the user. */
  pattern: string | ((topic: string, principal: Principal) => boolean);
  /** Any handler, whatever its assigns type (the server hands each callback back what its join returned). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: ChannelHandler<any>;
}

/**
 * Routes topics to channel handlers, first match wins. A topic no route matches, and every reserved
 * topic (`$sb:*`, the server's own), is answered `unmatched topic` (as Phoenix does); a matched route may still refuse the join (`unauthorized`).
 */
export class ChannelRouter {
  constructor(private readonly routes: readonly Route[]) {}

  match(topic: string, principal: Principal): ChannelHandler | null {
    if (isReservedTopic(topic)) return null;
    for (const r of this.routes) {
      const hit =
        typeof r.pattern === 'string' ? matchTopicPattern(r.pattern, topic) : r.pattern(topic, principal);
      if (hit) return r.handler;
    }
    return null;
  }
}

/**
 * The default routes: `room:*` is a broadcast channel, and so is any other topic the user's `join`
 * claim permits. Everything else is unmatched. Joins are tracked in presence on topics that
 * `presenceTopics` (PRESENCE_TOPICS) matches: all of them unless configured. `routes` (your own
 * handlers, CHANNELS_MODULE) are tried first.
 */
export function createDefaultRouter(
  presenceTopics: readonly string[] = ['*'],
  routes: readonly Route[] = [],
): ChannelRouter {
  const channel = createBroadcastChannel(new TopicMatcher(presenceTopics));
  return new ChannelRouter([
    ...routes,
    { pattern: 'room:*', handler: channel },
    { pattern: (topic, principal) => principal.join.matches(topic), handler: channel },
  ]);
}
