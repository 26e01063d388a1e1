/**
 * Topic patterns used by JWT claims (`join`, `publish`) and the channel router:
 *
 *   `*`        every topic
 *   `room:*`   every topic starting with `room:` (a `*` may only be the last character)
 *   `room:42`  exactly that topic
 */

/** True if `pattern` is well formed (non-empty, at most 255 chars, `*` only at the end). */
export function isValidTopicPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 255) return false;
  const star = pattern.indexOf('*');
  return star === -1 || star === pattern.length - 1;
}

/** True if `topic` matches the single `pattern`. */
export function matchTopicPattern(pattern: string, topic: string): boolean {
  if (pattern.endsWith('*')) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}

/** A set of patterns compiled for fast matching; immutable, so connections with the same claims share one. */
export class TopicMatcher {
  private readonly any: boolean;
  private readonly exact: ReadonlySet<string>;
  private readonly prefixes: readonly string[];

  constructor(readonly patterns: readonly string[]) {
    const invalid = patterns.find((p) => !isValidTopicPattern(p));
    if (invalid !== undefined) {
      throw new TypeError(
        `invalid topic pattern ${JSON.stringify(invalid)}: "*" may only be the last character`,
      );
    }
    this.any = patterns.includes('*');
    this.exact = new Set(patterns.filter((p) => !p.endsWith('*')));
    this.prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  }

  matches(topic: string): boolean {
    if (this.any || this.exact.has(topic)) return true;
    for (const prefix of this.prefixes) if (topic.startsWith(prefix)) return true;
    return false;
  }

  /** Matches nothing. */
  static readonly none = new TopicMatcher([]);
}

/**
 * Interns matchers by their patterns: many connections carry identical claims, so they share one.
 * Bound: at most `capacity` distinct pattern lists (default 10,000); a full cache is emptied, so
 * tokens with ever new claims cannot grow it.
 */
export class TopicMatcherCache {
  private readonly cache = new Map<string, TopicMatcher>();

  constructor(private readonly capacity = 10_000) {}

  get(patterns: readonly string[]): TopicMatcher {
    // JSON, not a join: ['a\nb'] and ['a', 'b'] must not share a key (the second grants more).
    const key = JSON.stringify(patterns);
    let m = this.cache.get(key);
    if (!m) {
      if (this.cache.size >= this.capacity) this.cache.clear();
      m = new TopicMatcher(patterns);
      this.cache.set(key, m);
    }
    return m;
  }
}
