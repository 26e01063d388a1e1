/**
 * History settings and their parser. The parser takes an env-like record instead of reading
 * `process.env`, so server/src/config.ts stays the only reader of the environment: it calls
 * `parseHistoryConfig(env)` and merges the returned `problems` into its own list.
 */
import { envReader, type Env } from '../env/reader.js';

/** Everything the history layer needs to know; every field has a documented default. */
export interface HistoryConfig {
  /** PostgreSQL connection string; unset means no durable history (memory ring or Redis hot cache only). */
  databaseUrl?: string;
  /** Publications waiting for PostgreSQL beyond this are dropped (and counted). HISTORY_QUEUE_MAX, default 10000. */
  queueMax: number;
  /** Rows per multi-row INSERT. HISTORY_BATCH_SIZE, default 500. */
  batchSize: number;
  /** A partial batch waits at most this long before it is written. HISTORY_FLUSH_MS, default 100. */
  flushMs: number;
  /** Messages kept per topic (and epoch) in PostgreSQL. HISTORY_RETENTION_COUNT, default 1000. */
  retentionCount: number;
  /** Messages older than this are pruned from PostgreSQL; also the idle TTL of the hot cache and memory ring. HISTORY_RETENTION_SECONDS, default 86400. */
  retentionSeconds: number;
  /**
   * Messages kept per topic in the hot cache (Redis) or memory ring (memory broker). HISTORY_CACHE_SIZE;
   * default 100 with a database, else HISTORY_RETENTION_COUNT (the ring is then the whole history).
   */
  cacheSize: number;
  /** Bytes of publications kept per topic in the hot cache / memory ring; oldest evicted first. HISTORY_CACHE_TOPIC_MAX_BYTES, default 4 MiB. */
  cacheTopicMaxBytes: number;
  /** Bytes kept by the memory ring over all topics of one process; oldest evicted first. HISTORY_CACHE_MAX_BYTES, default 64 MiB. */
  cacheMaxBytes: number;
  /** Idle lifetime of a topic's hot cache / memory ring, in ms (retentionSeconds * 1000). */
  cacheTtlMs: number;
  /** A rejoin that missed more messages than this gets `recovered: false`. HISTORY_RECOVERY_MAX, default 1000. */
  recoveryMax: number;
  /** A rejoin whose missed messages total more bytes than this gets `recovered: false, reason: "too_large"`. HISTORY_RECOVERY_MAX_BYTES, default 4 MiB. */
  recoveryMaxBytes: number;
  /** Bytes of recovered messages one node holds at once (read, not yet written to their clients); a recovery that does not fit gets `recovered: false, reason: "busy"`. HISTORY_RECOVERY_NODE_MAX_BYTES, default 64 MiB. */
  recoveryNodeMaxBytes: number;
  /** Apply pending migrations at start-up when a database is configured. MIGRATE_ON_START, default true. */
  migrateOnStart: boolean;
}

/** Defaults, exported so docs and tests refer to one source. */
export const historyDefaults = {
  queueMax: 10_000,
  batchSize: 500,
  flushMs: 100,
  retentionCount: 1000,
  retentionSeconds: 86_400,
  cacheSizeWithDatabase: 100,
  cacheTopicMaxBytes: 4 * 1024 * 1024,
  cacheMaxBytes: 64 * 1024 * 1024,
  recoveryMax: 1000,
  recoveryMaxBytes: 4 * 1024 * 1024,
  recoveryNodeMaxBytes: 64 * 1024 * 1024,
  migrateOnStart: true,
} as const;

/**
 * Reads the history variables from `env` (DATABASE_URL, HISTORY_QUEUE_MAX, HISTORY_BATCH_SIZE,
 * HISTORY_FLUSH_MS, HISTORY_RETENTION_COUNT, HISTORY_RETENTION_SECONDS, HISTORY_CACHE_SIZE,
 * HISTORY_CACHE_TOPIC_MAX_BYTES, HISTORY_CACHE_MAX_BYTES, HISTORY_RECOVERY_MAX, HISTORY_RECOVERY_MAX_BYTES, HISTORY_RECOVERY_NODE_MAX_BYTES, MIGRATE_ON_START). Never throws: each bad variable adds one line to
 * `problems` naming the variable and the fix, and its default is used in `config`.
 */
export function parseHistoryConfig(env: Env): { config: HistoryConfig; problems: string[] } {
  const problems: string[] = [];
  const { read, int } = envReader(env, problems);

  let databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined) {
    let scheme: string;
    try {
      scheme = new URL(databaseUrl).protocol;
    } catch {
      scheme = '';
    }
    if (scheme !== 'postgres:' && scheme !== 'postgresql:') {
      problems.push(
        'DATABASE_URL is not a postgres URL: set it like postgres://user:password@host:5432/database, or unset it to keep history in memory/Redis only',
      );
      databaseUrl = undefined;
    }
  }

  const queueMax = int('HISTORY_QUEUE_MAX', historyDefaults.queueMax, 1, 10_000_000);
  const batchSize = int('HISTORY_BATCH_SIZE', historyDefaults.batchSize, 1, 10_000);
  const flushMs = int('HISTORY_FLUSH_MS', historyDefaults.flushMs, 1, 60_000);
  const retentionCount = int('HISTORY_RETENTION_COUNT', historyDefaults.retentionCount, 1, 100_000_000);
  const retentionSeconds = int(
    'HISTORY_RETENTION_SECONDS',
    historyDefaults.retentionSeconds,
    1,
    10 * 365 * 86_400,
  );
  const cacheDefault = databaseUrl ? historyDefaults.cacheSizeWithDatabase : retentionCount;
  const cacheSize = int('HISTORY_CACHE_SIZE', cacheDefault, 0, 1_000_000);
  const cacheTopicMaxBytes = int(
    'HISTORY_CACHE_TOPIC_MAX_BYTES',
    historyDefaults.cacheTopicMaxBytes,
    0,
    1024 * 1024 * 1024,
  );
  const cacheMaxBytes = int(
    'HISTORY_CACHE_MAX_BYTES',
    historyDefaults.cacheMaxBytes,
    0,
    64 * 1024 * 1024 * 1024,
  );
  if (cacheMaxBytes < cacheTopicMaxBytes) {
    problems.push(
      `HISTORY_CACHE_MAX_BYTES (${cacheMaxBytes}) is smaller than HISTORY_CACHE_TOPIC_MAX_BYTES (${cacheTopicMaxBytes}): one topic could never fill its budget; raise HISTORY_CACHE_MAX_BYTES or lower HISTORY_CACHE_TOPIC_MAX_BYTES`,
    );
  }
  const recoveryMax = int('HISTORY_RECOVERY_MAX', historyDefaults.recoveryMax, 0, 1_000_000);
  const recoveryMaxBytes = int(
    'HISTORY_RECOVERY_MAX_BYTES',
    historyDefaults.recoveryMaxBytes,
    0,
    1024 * 1024 * 1024,
  );
  const recoveryNodeMaxBytes = int(
    'HISTORY_RECOVERY_NODE_MAX_BYTES',
    historyDefaults.recoveryNodeMaxBytes,
    0,
    64 * 1024 * 1024 * 1024,
  );
  if (recoveryNodeMaxBytes < recoveryMaxBytes) {
    problems.push(
      `HISTORY_RECOVERY_NODE_MAX_BYTES (${recoveryNodeMaxBytes}) is smaller than HISTORY_RECOVERY_MAX_BYTES (${recoveryMaxBytes}): the largest allowed recovery could never run; raise HISTORY_RECOVERY_NODE_MAX_BYTES or lower HISTORY_RECOVERY_MAX_BYTES`,
    );
  }

  let migrateOnStart: boolean = historyDefaults.migrateOnStart;
  const rawMigrate = read('MIGRATE_ON_START');
  if (rawMigrate !== undefined) {
    if (/^(true|1|yes)$/i.test(rawMigrate)) migrateOnStart = true;
    else if (/^(false|0|no)$/i.test(rawMigrate)) migrateOnStart = false;
    else {
      problems.push(
        `MIGRATE_ON_START=${JSON.stringify(rawMigrate)} is invalid: set it to true or false (default true), or unset it`,
      );
    }
  }
  if (queueMax < batchSize) {
    problems.push(
      `HISTORY_QUEUE_MAX (${queueMax}) is smaller than HISTORY_BATCH_SIZE (${batchSize}): a batch could never fill; raise HISTORY_QUEUE_MAX or lower HISTORY_BATCH_SIZE`,
    );
  }

  return {
    config: {
      databaseUrl,
      queueMax,
      batchSize,
      flushMs,
      retentionCount,
      retentionSeconds,
      cacheSize,
      cacheTopicMaxBytes,
      cacheMaxBytes,
      cacheTtlMs: retentionSeconds * 1000,
      recoveryMax,
      recoveryMaxBytes,
      recoveryNodeMaxBytes,
      migrateOnStart,
    },
    problems,
  };
}
