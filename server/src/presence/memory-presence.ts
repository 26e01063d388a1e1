import {
  addMetas,
  emptyPresenceState,
  type PresenceDiff,
  type PresenceMeta,
  type PresenceState,
  type PresenceTracker,
} from './presence.js';

interface Entry {
  /** The presence key, so that a topic with one key needs no Map (see TopicKeys). */
  key: string;
  meta: PresenceMeta;
  owner: MemoryPresence;
}

/**
 * A topic's keys and their entries (one per phx_ref, in join order): the entries of its one key as
 * they are, or a Map by key from the second key. An idle per-user topic has one key, and a Map's
 * table costs about 250 bytes (issue 14, idle memory).
 */
type TopicKeys = Entry[] | Map<string, Entry[]>;

function entriesOf(keys: TopicKeys, key: string): Entry[] | undefined {
  if (keys instanceof Map) return keys.get(key);
  return keys[0]?.key === key ? keys : undefined;
}

/** Each key's entries, a snapshot (callers untrack while going through it). */
function keyEntries(keys: TopicKeys): Entry[][] {
  return keys instanceof Map ? [...keys.values()] : [keys];
}

/**
 * In-process presence state shared by MemoryPresence instances (one per "node"); tests share one
 * bus between several trackers to run several nodes in one process.
 */
export class MemoryPresenceBus {
  /**
   * topic -> key -> entries (TopicKeys). A key's entries are an array, not a Map: a key has one or
   * a few entries, and a Map's table costs about 230 bytes more per member (issue 14, idle memory).
   */
  readonly topics = new Map<string, TopicKeys>();
  /** topic -> trackers watching it */
  readonly watchers = new Map<string, Set<MemoryPresence>>();
}

export interface MemoryPresenceOptions {
  nodeId: string;
  bus?: MemoryPresenceBus;
}

/**
 * Presence for a single process. Consistent immediately (no TTL needed: a process that dies takes
 * its state with it). Diffs are delivered asynchronously (microtask), one per track/untrack, to
 * every tracker watching the topic, including the one that made the change.
 */
export class MemoryPresence implements PresenceTracker {
  readonly nodeId: string;
  private readonly bus: MemoryPresenceBus;
  /** A private bus has no other tracker to tell: watched topics need no entry there. */
  private readonly shared: boolean;
  private readonly listeners: ((topic: string, diff: PresenceDiff) => void)[] = [];
  private readonly watched = new Set<string>();
  private closed = false;

  constructor(opts: MemoryPresenceOptions) {
    this.nodeId = opts.nodeId;
    this.bus = opts.bus ?? new MemoryPresenceBus();
    this.shared = opts.bus !== undefined;
  }

  async start(): Promise<void> {
    this.closed = false;
  }

  async track(topic: string, key: string, meta: PresenceMeta): Promise<void> {
    const keys = this.bus.topics.get(topic);
    const entry: Entry = { key, meta: { ...meta }, owner: this };
    const entries = keys && entriesOf(keys, key);
    // A literal of one: push() onto [] would reserve room for 17 (about 130 bytes more).
    if (!keys) this.bus.topics.set(topic, [entry]);
    else if (!entries) {
      if (keys instanceof Map) keys.set(key, [entry]);
      else
        this.bus.topics.set(
          topic,
          new Map([
            [keys[0]!.key, keys],
            [key, [entry]],
          ]),
        );
    } else {
      const at = entries.findIndex((e) => e.meta.phx_ref === meta.phx_ref);
      if (at >= 0) entries[at] = entry;
      else entries.push(entry);
    }
    this.emit(topic, { joins: single(key, meta), leaves: emptyPresenceState() });
  }

  async untrack(topic: string, key: string, phxRef: string): Promise<void> {
    const keys = this.bus.topics.get(topic);
    const entries = keys && entriesOf(keys, key);
    const at = entries?.findIndex((e) => e.meta.phx_ref === phxRef) ?? -1;
    if (!keys || !entries || at < 0) return;
    const [entry] = entries.splice(at, 1) as [Entry];
    if (keys instanceof Map) {
      if (entries.length === 0) keys.delete(key);
      // Back to the entries of the one key left.
      const [rest, more] = keys.values();
      if (rest === undefined) this.bus.topics.delete(topic);
      else if (more === undefined) this.bus.topics.set(topic, rest);
    } else if (entries.length === 0) this.bus.topics.delete(topic);
    this.emit(topic, { joins: emptyPresenceState(), leaves: single(key, entry.meta) });
  }

  async list(topic: string): Promise<PresenceState> {
    const state = emptyPresenceState();
    const keys = this.bus.topics.get(topic);
    if (!keys) return state;
    for (const entries of keyEntries(keys))
      addMetas(
        state,
        entries[0]!.key,
        entries.map((e) => ({ ...e.meta })),
      );
    return state;
  }

  onDiff(listener: (topic: string, diff: PresenceDiff) => void): void {
    this.listeners.push(listener);
  }

  async watch(topic: string): Promise<void> {
    if (this.watched.has(topic)) return;
    this.watched.add(topic);
    if (!this.shared) return;
    let set = this.bus.watchers.get(topic);
    if (!set) this.bus.watchers.set(topic, (set = new Set()));
    set.add(this);
  }

  async unwatch(topic: string): Promise<void> {
    if (!this.watched.delete(topic)) return;
    const set = this.bus.watchers.get(topic);
    set?.delete(this);
    if (set?.size === 0) this.bus.watchers.delete(topic);
  }

  /** Untracks everything this tracker tracked (other trackers see leaves) and stops watching. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const [topic, keys] of [...this.bus.topics]) {
      for (const entries of keyEntries(keys)) {
        for (const entry of [...entries])
          if (entry.owner === this) await this.untrack(topic, entry.key, entry.meta.phx_ref);
      }
    }
    for (const topic of [...this.watched]) await this.unwatch(topic);
    this.closed = true;
  }

  private emit(topic: string, diff: PresenceDiff): void {
    if (!this.shared) {
      if (!this.watched.has(topic)) return;
      const copy = structuredClone(diff);
      queueMicrotask(() => this.deliver(topic, copy));
      return;
    }
    const watchers = this.bus.watchers.get(topic);
    if (!watchers) return;
    for (const tracker of watchers) {
      const copy = structuredClone(diff);
      queueMicrotask(() => tracker.deliver(topic, copy));
    }
  }

  private deliver(topic: string, diff: PresenceDiff): void {
    if (this.closed || !this.watched.has(topic)) return;
    for (const l of this.listeners) l(topic, diff);
  }
}

/** `{key: {metas: [meta]}}` without a prototype (the key is a user id). */
function single(key: string, meta: PresenceMeta): PresenceState {
  const state = emptyPresenceState();
  addMetas(state, key, [meta]);
  return state;
}
