import type { TopicMatcher } from './topic-pattern.js';

/** The authenticated user of a connection, from its JWT. Shared and immutable. */
export interface Principal {
  /** JWT `sub`: the user id, also the presence key. */
  readonly sub: string;
  /** Topics the user may join (`join` claim). */
  readonly join: TopicMatcher;
  /** Topics the user may publish to (`publish` claim). */
  readonly publish: TopicMatcher;
  /** When the token expires (ms since the epoch, from `exp`): the session is closed with 4001 then. */
  readonly expiresAt: number;
  /** What the channels module's `connect` returned for this connection (docs/channels.md). */
  readonly assigns?: Readonly<Record<string, unknown>>;
}

/**
 * The principal with the connect handler's `assigns`. Built as a literal: a spread followed by a
 * property (`{ ...p, assigns }`) gives each object a hidden class of its own in V8 (about 190
 * bytes per connection, issue 14), a literal shares one.
 */
export function withAssigns(p: Principal, assigns: Readonly<Record<string, unknown>>): Principal {
  return { sub: p.sub, join: p.join, publish: p.publish, expiresAt: p.expiresAt, assigns };
}
