import type { Publication } from '../broker/broker.js';
import type { Logger } from '../telemetry/logger.js';
import type { HistoryConfig } from './config.js';
import { NullHistoryStore, type HistoryStore } from './history-store.js';
import { MemorySequencer } from './memory-sequencer.js';
import { PostgresHistoryStore } from './postgres-history-store.js';
import {
  readSince,
  recover,
  type HistoryPage,
  type RecoveryRequest,
  type RecoveryResult,
} from './recovery.js';
import { RecoveryBudget } from './recovery-budget.js';
import { RedisSequencer, type RedisTarget } from './redis-sequencer.js';
import type { SequencedPublication, Sequencer, StreamPosition } from './sequencer.js';

export { parseHistoryConfig, historyDefaults, type HistoryConfig } from './config.js';
export { migrate } from './migrate.js';
export { topicChannel, encodePublication, decodePublication } from './publication-codec.js';
export type { HistoryStore } from './history-store.js';
export type { HistoryPage, RecoveryRequest, RecoveryResult } from './recovery.js';
export type { SequencedPublication, Sequencer, StreamPosition } from './sequencer.js';

/** What `createHistory` needs besides the HistoryConfig. */
export interface HistoryLayerOptions {
  config: HistoryConfig;
  /** The BROKER setting: memory -> MemorySequencer; redis / redis-cluster -> RedisSequencer on the same Redis. */
  broker: 'memory' | 'redis' | 'redis-cluster';
  /** Required for BROKER=redis / redis-cluster. */
  redis?: RedisTarget;
  logger?: Logger;
}

/**
 * The history layer as the server uses it: one sequencer (offsets at publish time) plus one durable
 * store (PostgreSQL when DATABASE_URL is set, else nothing beyond the sequencer's cache).
 */
export interface HistoryLayer extends HistoryAccess {
  readonly sequencer: Sequencer;
  readonly store: HistoryStore;
}

/**
 * What the node uses of the history layer. A worker process (WORKERS>1) holds only this: its calls
 * go to the node's one history layer in the primary process (workers/ipc-history.ts).
 */
export interface HistoryAccess {
  /**
   * True when `append` already delivered the publication to the other nodes (Redis): the caller then
   * skips `broker.publish` and only fans out locally. False (memory): the caller calls `broker.publish`.
   */
  readonly deliversToNodes: boolean;
  /** Connects the sequencer, migrates (MIGRATE_ON_START) and starts the background writer. */
  start(): Promise<void>;
  /** Publish path: assigns epoch/offset (and, on Redis, delivers to other nodes), queues the durable write. */
  append(pub: Publication): Promise<SequencedPublication>;
  /** The sequencer's `whenReady`: true once recoveries can read it again, false after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<boolean>;
  /** The topic's current epoch/offset, for a join reply without recovery. */
  position(topic: string): Promise<StreamPosition>;
  /** Join with recovery params: everything missed, or `recovered: false` and nothing. */
  recover(req: RecoveryRequest): Promise<RecoveryResult>;
  /** Backend API read: GET /api/topics/:topic/messages?since=OFFSET. */
  readSince(topic: string, since: number, limit: number): Promise<HistoryPage>;
  /** Drain: writes what is queued, at most `timeoutMs`; true when everything was written. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops background work and closes connections (call `flush` first). */
  close(): Promise<void>;
}

/** Builds the history layer for the configured broker and database. Throws on a missing Redis target. */
export function createHistory(opts: HistoryLayerOptions): HistoryLayer {
  const { config, logger } = opts;
  let sequencer: Sequencer;
  if (opts.broker === 'memory') {
    sequencer = new MemorySequencer({
      cacheSize: config.cacheSize,
      cacheTtlMs: config.cacheTtlMs,
      cacheTopicMaxBytes: config.cacheTopicMaxBytes,
      cacheMaxBytes: config.cacheMaxBytes,
    });
  } else {
    if (!opts.redis) throw new TypeError(`createHistory: BROKER=${opts.broker} needs the redis target`);
    sequencer = new RedisSequencer({
      redis: opts.redis,
      cacheSize: config.cacheSize,
      cacheTtlMs: config.cacheTtlMs,
      cacheTopicMaxBytes: config.cacheTopicMaxBytes,
      logger,
    });
  }
  const store: HistoryStore = config.databaseUrl
    ? new PostgresHistoryStore({
        databaseUrl: config.databaseUrl,
        queueMax: config.queueMax,
        batchSize: config.batchSize,
        flushMs: config.flushMs,
        retentionCount: config.retentionCount,
        retentionSeconds: config.retentionSeconds,
        migrateOnStart: config.migrateOnStart,
        logger,
      })
    : new NullHistoryStore();
  const recoveryOptions = {
    maxMessages: config.recoveryMax,
    maxBytes: config.recoveryMaxBytes,
    budget: new RecoveryBudget(config.recoveryNodeMaxBytes),
    settleMs: 10 * config.flushMs,
    logger,
  };
  return {
    sequencer,
    store,
    deliversToNodes: sequencer.deliversToNodes,
    whenReady: (timeoutMs) => sequencer.whenReady(timeoutMs),
    async start() {
      await sequencer.start();
      await store.start();
    },
    async append(pub) {
      const sequenced = await sequencer.append(pub);
      store.enqueue(sequenced);
      return sequenced;
    },
    position: (topic) => sequencer.position(topic),
    recover: (req) => recover(req, sequencer, store, recoveryOptions),
    readSince: (topic, since, limit) => readSince(topic, since, limit, sequencer, store),
    flush: (timeoutMs) => store.flush(timeoutMs),
    async close() {
      await store.close();
      await sequencer.close();
    },
  };
}
