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
