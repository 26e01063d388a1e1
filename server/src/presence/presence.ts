/** One presence entry; `phx_ref` identifies the tracked connection, as in Phoenix. */
export interface PresenceMeta {
  phx_ref: string;
  phx_ref_prev?: string;
  [key: string]: unknown;
}

/**
 * What the official client's `Presence.syncState` takes: key -> metas. Keys are user ids (JWT
 * `sub`) and may be `__proto__` or `constructor`: build states with `emptyPresenceState()`.
 */
export type PresenceState = Record<string, { metas: PresenceMeta[] }>;

/** A state without a prototype, so any user id is an ordinary own key (JSON.stringify is unchanged). */
export function emptyPresenceState(): PresenceState {
  return Object.create(null) as PresenceState;
}

/** Appends `metas` under `key` (an own, prototype-free key whatever the user id). */
export function addMetas(state: PresenceState, key: string, metas: PresenceMeta[]): void {
  const own = Object.hasOwn(state, key) ? state[key] : undefined;
  if (own) own.metas.push(...metas);
  else
    Object.defineProperty(state, key, {
      value: { metas: [...metas] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

/** What `Presence.syncDiff` takes. */
export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}

/**
 * Who is present on a topic, across every node.
 *
 * Guarantee: eventually consistent. A node that dies without untracking has its entries expire
 * after the tracker's TTL, and every node then reports them as leaves.
 */
export interface PresenceTracker {
  start(): Promise<void>;
  /** Adds `meta` under `key` on `topic` for this node. */
  track(topic: string, key: string, meta: PresenceMeta): Promise<void>;
  /** Removes the entry with `phxRef` under `key`. */
  untrack(topic: string, key: string, phxRef: string): Promise<void>;
  /** The whole current state of `topic` (what `presence_state` sends). */
  list(topic: string): Promise<PresenceState>;
  /** Diffs (from this and other nodes) for topics this node is interested in. */
  onDiff(listener: (topic: string, diff: PresenceDiff) => void): void;
  /** Interest: diffs are delivered only for topics with local subscribers. */
  watch(topic: string): Promise<void>;
  unwatch(topic: string): Promise<void>;
  close(): Promise<void>;
}
