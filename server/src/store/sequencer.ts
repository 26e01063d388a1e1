import { randomBytes } from 'node:crypto';
import type { Publication } from '../broker/broker.js';

/** Where a topic's stream stands: its epoch and the offset of its newest publication (0 if none yet). */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** A publication that went through a sequencer: epoch and offset are set. */
export type SequencedPublication = Publication & { epoch: string; offset: number };

/**
 * Assigns each publication its topic's epoch and next offset, at publish time and before delivery,
 * and keeps a short tail of recent publications per topic (memory ring or Redis hot cache).
 *
 * Guarantees, per topic: offsets within one epoch are 1, 2, 3, ... with no gap and no duplicate,
 * even with several nodes appending at once; the epoch changes whenever the counter is lost
 * (process restart for memory, data loss or key eviction for Redis), and only then. So a client
 * that holds (epoch, offset) and sees the same epoch later knows exactly which offsets it missed.
 */
export interface Sequencer {
  /**
   * True when `append` also delivered the publication to the other nodes (RedisSequencer PUBLISHes
   * from its script, so the channel carries publications in offset order): the caller must then NOT
   * call `broker.publish` for it, only deliver it to local subscribers.
   */
  readonly deliversToNodes: boolean;
  /** Connects; resolves when appends can succeed. */
  start(): Promise<void>;
  /**
   * Resolves true once appends and reads can succeed again (at once when they can), false after
   * `timeoutMs`. After a Redis outage the sequencer's connection may come back later than the broker's.
   */
  whenReady(timeoutMs: number): Promise<boolean>;
  /** Returns `pub` with the topic's epoch and next offset; rejects when the sequence is unreachable. */
  append(pub: Publication): Promise<SequencedPublication>;
  /** The topic's epoch and newest offset, creating the epoch if the topic has none (offset 0). */
  position(topic: string): Promise<StreamPosition>;
  /** Cached publications of `topic` in `epoch` with offset > `afterOffset`, ascending; may start later than afterOffset + 1. */
  readRecent(topic: string, epoch: string, afterOffset: number): Promise<SequencedPublication[]>;
  close(): Promise<void>;
}

/** A fresh random epoch: 12 url-safe characters (72 bits), so two epochs of a topic never collide. */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

/** True when `pub` carries a position. */
export function isSequenced(pub: Publication): pub is SequencedPublication {
  return typeof pub.epoch === 'string' && Number.isSafeInteger(pub.offset) && (pub.offset ?? 0) > 0;
}
