import type { Publication } from '../broker/broker.js';
import { historyCacheMetrics } from './cache-metrics.js';
import { decodePublication, encodePublication } from './publication-codec.js';
import {
  isSequenced,
  newEpoch,
  type SequencedPublication,
  type Sequencer,
  type StreamPosition,
} from './sequencer.js';

/** Options of `MemorySequencer`. */
export interface MemorySequencerOptions {
  /** Publications kept per topic in the ring (0 keeps none). */
  cacheSize: number;
  /** Ring entries older than this are dropped. */
  cacheTtlMs: number;
  /** Bytes (encoded publications) kept per topic; the oldest go first. Default: unbounded. */
  cacheTopicMaxBytes?: number;
  /** Bytes kept over all topics of this process; the oldest (of any topic) go first. Default: unbounded. */
  cacheMaxBytes?: number;
  /** A topic with no append or position call for this long is forgotten (its next epoch is new). Default 7 days. */
  sequenceTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** One cached publication, kept encoded: its memory is what `bytes` says (decoded on the rare read). */
interface RingEntry {
  at: number;
  offset: number;
  text: string;
  bytes: number;
  /**
   * The last decoding, held weakly: when a deploy cuts a room's members at once, each of them
   * recovers the same entries, and they share one decoded object (and the frames built from it,
   * session/recovery-join.ts) for as long as any of them holds it. It never holds memory by itself.
   */
  decoded?: WeakRef<SequencedPublication>;
  /** False once dropped from its ring (the node-wide order list drops it lazily). */
  live: boolean;
  state: TopicState;
}

interface TopicState {
  epoch: string;
  offset: number;
  lastUsed: number;
  ring: RingEntry[];
  ringBytes: number;
}

const DEFAULT_SEQUENCE_TTL_MS = 7 * 86_400_000;

/**
 * The single-node sequencer used with the memory broker: in-process counters (the epoch of a topic
 * is random per process start, so a restart tells clients their offsets are void) and a per-topic
 * ring of recent publications bounded by count, age, bytes per topic and bytes over all topics
 * (oldest evicted first). Without DATABASE_URL this ring is all the history there is. Not for
 * several nodes: each process would count on its own.
 *
 * Memory: the rings hold at most `cacheMaxBytes` of encoded publications; `order` (every entry in
 * append order, for node-wide eviction) holds dead entries only until it is compacted.
 */
export class MemorySequencer implements Sequencer {
  readonly deliversToNodes = false;
  private readonly topics = new Map<string, TopicState>();
  private readonly opts: Required<MemorySequencerOptions>;
  /** Every ring entry in append order (live or not): the node-wide eviction order. */
  private order: RingEntry[] = [];
  private orderHead = 0;
  private liveEntries = 0;
  private totalBytes = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(opts: MemorySequencerOptions) {
    if (!Number.isSafeInteger(opts.cacheSize) || opts.cacheSize < 0) {
      throw new RangeError('MemorySequencer: cacheSize must be a whole number >= 0');
    }
    if (!(opts.cacheTtlMs > 0)) throw new RangeError('MemorySequencer: cacheTtlMs must be > 0');
    this.opts = {
      sequenceTtlMs: DEFAULT_SEQUENCE_TTL_MS,
      now: Date.now,
      cacheTopicMaxBytes: Number.POSITIVE_INFINITY,
      cacheMaxBytes: Number.POSITIVE_INFINITY,
      ...opts,
    };
    for (const k of ['cacheTopicMaxBytes', 'cacheMaxBytes'] as const) {
      if (!(this.opts[k] >= 0)) throw new RangeError(`MemorySequencer: ${k} must be >= 0`);
    }
  }

  whenReady(): Promise<boolean> {
    return Promise.resolve(true);
  }

  async start(): Promise<void> {
    // Age pruning also happens on every read and append; the sweep frees idle topics.
    const every = Math.min(this.opts.cacheTtlMs, 60_000);
    this.sweeper ??= setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  async append(pub: Publication): Promise<SequencedPublication> {
    const state = this.state(pub.topic);
    state.offset += 1;
    const sequenced: SequencedPublication = { ...pub, epoch: state.epoch, offset: state.offset };
    if (this.opts.cacheSize > 0) this.cache(state, sequenced);
    return sequenced;
  }

  async position(topic: string): Promise<StreamPosition> {
    const state = this.state(topic);
    return { epoch: state.epoch, offset: state.offset };
  }

  async readRecent(topic: string, epoch: string, afterOffset: number): Promise<SequencedPublication[]> {
    const state = this.topics.get(topic);
    if (!state || state.epoch !== epoch) return [];
    this.pruneRing(state, this.opts.now());
    const out: SequencedPublication[] = [];
    for (const e of state.ring) {
      if (e.offset <= afterOffset) continue;
      const pub = e.decoded?.deref() ?? this.decode(e);
      if (pub) out.push(pub);
    }
    return out;
  }

  private decode(e: RingEntry): SequencedPublication | undefined {
    const pub = decodePublication(e.text);
    if (!isSequenced(pub)) return undefined;
    e.decoded = new WeakRef(pub);
    return pub;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Number of topics held, for tests and debugging. */
  get topicCount(): number {
    return this.topics.size;
  }

  /** Bytes held by the rings of every topic (switchboard_history_cache_bytes). */
  get cachedBytes(): number {
    return this.totalBytes;
  }

  private cache(state: TopicState, pub: SequencedPublication): void {
    const text = encodePublication(pub);
    const entry: RingEntry = {
      at: state.lastUsed,
      offset: pub.offset,
      text,
      bytes: Buffer.byteLength(text),
      live: true,
      state,
    };
    state.ring.push(entry);
    state.ringBytes += entry.bytes;
    this.order.push(entry);
    this.liveEntries += 1;
    this.totalBytes += entry.bytes;
    historyCacheMetrics.bytes.inc(entry.bytes);
    if (state.ring.length > this.opts.cacheSize) this.dropOldest(state, 1);
    let n = 0;
    for (let over = state.ringBytes - this.opts.cacheTopicMaxBytes; over > 0 && n < state.ring.length; n++) {
      over -= state.ring[n]!.bytes;
    }
    if (n > 0) {
      this.dropOldest(state, n);
      historyCacheMetrics.evictedTopicBytes.inc(n);
    }
    this.enforceNodeBudget();
  }

  /** Evicts the oldest entries of any topic until the node-wide budget holds. */
  private enforceNodeBudget(): void {
    while (this.totalBytes > this.opts.cacheMaxBytes && this.orderHead < this.order.length) {
      const entry = this.order[this.orderHead++]!;
      if (!entry.live) continue;
      // Append order is global, so the oldest live entry is also the head of its own ring.
      if (entry.state.ring[0] !== entry) throw new Error('MemorySequencer: eviction order broken');
      this.dropOldest(entry.state, 1);
      historyCacheMetrics.evictedNodeBytes.inc();
    }
    this.compactOrder();
  }

  private release(entry: RingEntry): void {
    this.liveEntries -= 1;
    this.totalBytes -= entry.bytes;
    historyCacheMetrics.bytes.dec(entry.bytes);
    entry.text = '';
    entry.decoded = undefined;
  }

  /** Drops the `n` oldest entries of a topic's ring. */
  private dropOldest(state: TopicState, n: number): void {
    for (const entry of state.ring.splice(0, n)) {
      entry.live = false;
      state.ringBytes -= entry.bytes;
      this.release(entry);
    }
  }

  /** Keeps `order` at most about twice the live entries (dead ones are dropped lazily). */
  private compactOrder(): void {
    if (this.order.length <= 2 * this.liveEntries + 1024) return;
    this.order = this.order.slice(this.orderHead).filter((e) => e.live);
    this.orderHead = 0;
  }

  private state(topic: string): TopicState {
    const now = this.opts.now();
    let state = this.topics.get(topic);
    if (state && now - state.lastUsed > this.opts.sequenceTtlMs) {
      this.dropOldest(state, state.ring.length);
      state = undefined;
    }
    if (!state) {
      state = { epoch: newEpoch(), offset: 0, lastUsed: now, ring: [], ringBytes: 0 };
      this.topics.set(topic, state);
    }
    state.lastUsed = now;
    this.pruneRing(state, now);
    return state;
  }

  private pruneRing(state: TopicState, now: number): void {
    let drop = 0;
    while (drop < state.ring.length && now - state.ring[drop]!.at > this.opts.cacheTtlMs) drop++;
    if (drop > 0) this.dropOldest(state, drop);
  }

  private sweep(): void {
    const now = this.opts.now();
    for (const [topic, state] of this.topics) {
      if (now - state.lastUsed > this.opts.sequenceTtlMs) {
        this.dropOldest(state, state.ring.length);
        this.topics.delete(topic);
      } else this.pruneRing(state, now);
    }
    this.compactOrder();
  }
}
