import type { Publication } from '../broker/broker.js';
import { newEpoch, type SequencedPublication, type Sequencer, type StreamPosition } from './sequencer.js';

/** Options of `MemorySequencer`. */
export interface MemorySequencerOptions {
  /** Publications kept per topic in the ring (0 keeps none). */
  cacheSize: number;
  /** Ring entries older than this are dropped. */
  cacheTtlMs: number;
  /** A topic with no append or position call for this long is forgotten (its next epoch is new). Default 7 days. */
  sequenceTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface TopicState {
  epoch: string;
  offset: number;
  lastUsed: number;
  ring: { at: number; pub: SequencedPublication }[];
}

const DEFAULT_SEQUENCE_TTL_MS = 7 * 86_400_000;

/**
 * The single-node sequencer used with the memory broker: in-process counters (the epoch of a topic
 * is random per process start, so a restart tells clients their offsets are void) and a per-topic
 * ring of recent publications bounded by count and age. Without DATABASE_URL this ring is all the
 * history there is. Not for several nodes: each process would count on its own.
 */
export class MemorySequencer implements Sequencer {
  readonly deliversToNodes = false;
  private readonly topics = new Map<string, TopicState>();
  private readonly opts: Required<MemorySequencerOptions>;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(opts: MemorySequencerOptions) {
    if (!Number.isSafeInteger(opts.cacheSize) || opts.cacheSize < 0) {
      throw new RangeError('MemorySequencer: cacheSize must be a whole number >= 0');
    }
    if (!(opts.cacheTtlMs > 0)) throw new RangeError('MemorySequencer: cacheTtlMs must be > 0');
    this.opts = {
      sequenceTtlMs: DEFAULT_SEQUENCE_TTL_MS,
      now: Date.now,
      ...opts,
    };
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
    if (this.opts.cacheSize > 0) {
      state.ring.push({ at: state.lastUsed, pub: sequenced });
      if (state.ring.length > this.opts.cacheSize) state.ring.shift();
    }
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
    return state.ring.filter((e) => e.pub.offset > afterOffset).map((e) => e.pub);
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Number of topics held, for tests and debugging. */
  get topicCount(): number {
    return this.topics.size;
  }

  private state(topic: string): TopicState {
    const now = this.opts.now();
    let state = this.topics.get(topic);
    if (state && now - state.lastUsed > this.opts.sequenceTtlMs) state = undefined;
    if (!state) {
      state = { epoch: newEpoch(), offset: 0, lastUsed: now, ring: [] };
      this.topics.set(topic, state);
    }
    state.lastUsed = now;
    this.pruneRing(state, now);
    return state;
  }

  private pruneRing(state: TopicState, now: number): void {
    let drop = 0;
    while (drop < state.ring.length && now - state.ring[drop]!.at > this.opts.cacheTtlMs) drop++;
    if (drop > 0) state.ring.splice(0, drop);
  }

  private sweep(): void {
    const now = this.opts.now();
    for (const [topic, state] of this.topics) {
      if (now - state.lastUsed > this.opts.sequenceTtlMs) this.topics.delete(topic);
      else this.pruneRing(state, now);
    }
  }
}
