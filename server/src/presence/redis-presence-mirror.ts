import {
  addMetas,
  emptyPresenceState,
  type PresenceDiff,
  type PresenceMeta,
  type PresenceState,
} from './presence.js';

/** One presence entry as stored and sent between nodes. */
export interface PresenceEntry {
  key: string;
  meta: PresenceMeta;
}

/** A diff as it travels on a topic's presence channel. */
export interface PresenceDiffMessage {
  origin: string;
  topic: string;
  /** The topic's diff sequence: `version` is this diff's number within `epoch`. */
  epoch: string;
  version: number;
  joins: PresenceEntry[];
  leaves: PresenceEntry[];
}

/** Parses a diff message; undefined for anything malformed. */
export function parseDiffMessage(raw: string): PresenceDiffMessage | undefined {
  try {
    const m = JSON.parse(raw) as PresenceDiffMessage;
    if (typeof m.origin !== 'string' || typeof m.topic !== 'string' || typeof m.epoch !== 'string') return;
    if (!Number.isSafeInteger(m.version) || !Array.isArray(m.joins) || !Array.isArray(m.leaves)) return;
    return { ...m, joins: m.joins.filter(isEntry), leaves: m.leaves.filter(isEntry) };
  } catch {
    return undefined;
  }
}

/** Parses one stored entry value; undefined for anything malformed. */
export function parseEntry(raw: string): PresenceEntry | undefined {
  try {
    const v: unknown = JSON.parse(raw);
    return isEntry(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function isEntry(v: unknown): v is PresenceEntry {
  const e = v as PresenceEntry | null;
  return (
    typeof e === 'object' && e !== null && typeof e.key === 'string' && typeof e.meta?.phx_ref === 'string'
  );
}

/** Groups entries into the `{key: {metas}}` shape Presence.syncState/syncDiff take. */
export function toPresenceState(entries: Iterable<PresenceEntry>): PresenceState {
  const state = emptyPresenceState();
  for (const e of entries) addMetas(state, e.key, [e.meta]);
  return state;
}

const idOf = (e: PresenceEntry) => `${e.key}\n${e.meta.phx_ref}`;

/**
 * What one node's watchers have been told about a topic, and up to which diff of the topic's
 * sequence. It turns the at-most-once diff stream into an eventually consistent one: a diff that
 * was already included is dropped, every diff is filtered to real changes (a join of someone
 * present or a leave of someone absent is not repeated), and a gap in the sequence or a new epoch
 * asks for a re-read of the state, from which the missing changes are derived.
 */
export class PresenceMirror {
  private readonly entries = new Map<string, PresenceEntry>();
  private epoch: string | undefined;
  private version = 0;

  /**
   * Applies a diff message. Returns the changes to deliver (undefined if none) and whether the
   * state must be re-read (`resync`) because a diff before this one was missed.
   */
  apply(msg: PresenceDiffMessage): { diff?: PresenceDiff; resync: boolean } {
    if (msg.epoch === this.epoch && msg.version <= this.version) return { resync: false };
    const resync = msg.epoch !== this.epoch || msg.version !== this.version + 1;
    if (!resync) this.version = msg.version;
    return { diff: this.change(msg.joins, msg.leaves), resync };
  }

  /**
   * Replaces the mirror with a state read together with its sequence position. Returns the changes
   * against what was delivered before (none when `silent`, for the first read after watch).
   */
  reset(entries: PresenceEntry[], epoch: string, version: number, silent = false): PresenceDiff | undefined {
    if (epoch === this.epoch && version < this.version) return undefined; // an older read finished late
    const next = new Map(entries.map((e) => [idOf(e), e]));
    const joins = [...next.values()].filter((e) => !this.entries.has(idOf(e)));
    const leaves = [...this.entries.values()].filter((e) => !next.has(idOf(e)));
    this.epoch = epoch;
    this.version = version;
    if (silent) {
      this.entries.clear();
      for (const [id, e] of next) this.entries.set(id, e);
      return undefined;
    }
    return this.change(joins, leaves);
  }

  /** True when the topic's sequence stands beyond what this mirror has seen. */
  isBehind(epoch: string, version: number): boolean {
    return epoch !== this.epoch || version > this.version;
  }

  private change(joins: PresenceEntry[], leaves: PresenceEntry[]): PresenceDiff | undefined {
    const joined: PresenceEntry[] = [];
    const left: PresenceEntry[] = [];
    for (const e of leaves) {
      const id = idOf(e);
      const had = this.entries.get(id);
      if (!had) continue;
      this.entries.delete(id);
      left.push(had);
    }
    for (const e of joins) {
      const id = idOf(e);
      if (this.entries.has(id)) continue;
      this.entries.set(id, e);
      joined.push(e);
    }
    if (joined.length === 0 && left.length === 0) return undefined;
    return { joins: toPresenceState(joined), leaves: toPresenceState(left) };
  }
}
