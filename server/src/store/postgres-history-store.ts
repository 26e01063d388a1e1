import pg from 'pg';
import { payloadJsonOf } from '../broker/broker.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
import type { HistoryStore } from './history-store.js';
import { migrate } from './migrate.js';
import { isSequenced, type SequencedPublication } from './sequencer.js';

/** Options of `PostgresHistoryStore`; see HistoryConfig for the meaning and defaults of each. */
export interface PostgresHistoryStoreOptions {
  /** Connection string; or pass `pool` (then the store does not end it on close). */
  databaseUrl?: string;
  pool?: pg.Pool;
  queueMax: number;
  batchSize: number;
  flushMs: number;
  retentionCount: number;
  retentionSeconds: number;
  migrateOnStart: boolean;
  /** How often retention runs. Default 60 s. */
  pruneIntervalMs?: number;
  /** Upper bound of the retry backoff while PostgreSQL is unreachable. Default 5 s. */
  maxBackoffMs?: number;
  logger?: Logger;
}

const INSERT_SQL = `
INSERT INTO history (topic, epoch, "offset", event, payload, is_binary, origin, published_at, traceparent)
SELECT t, e, o, ev, p::json, b, og, to_timestamp(pa / 1000.0), tp
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::float8[], $9::text[])
  AS u(t, e, o, ev, p, b, og, pa, tp)
ON CONFLICT (topic, epoch, "offset") DO NOTHING`;

// payload::text: the json column keeps the published text verbatim; the driver would JSON.parse it.
const READ_SQL = `
SELECT topic, epoch, "offset", event, payload::text AS payload, is_binary, origin, published_at, traceparent
FROM history WHERE topic = $1 AND epoch = $2 AND "offset" > $3
ORDER BY "offset" LIMIT $4`;

// Summed by PostgreSQL, so sizing a gap brings none of it into this process.
const BYTES_SQL = `
SELECT coalesce(sum(octet_length(payload::text) + octet_length(event)), 0)::float8 AS bytes
FROM history WHERE topic = $1 AND epoch = $2 AND "offset" > $3 AND "offset" <= $4`;

const PRUNE_AGE_SQL = `
DELETE FROM history WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM history WHERE published_at < now() - make_interval(secs => $1) LIMIT $2))`;

const PRUNE_COUNT_SQL = `
DELETE FROM history h USING unnest($1::text[], $2::text[], $3::bigint[]) AS u(topic, epoch, below)
WHERE h.topic = u.topic AND h.epoch = u.epoch AND h."offset" <= u.below`;

const PRUNE_COUNT_ALL_SQL = `
DELETE FROM history h USING (
  SELECT topic, epoch, max("offset") - $1 AS below FROM history GROUP BY topic, epoch) m
WHERE h.topic = m.topic AND h.epoch = m.epoch AND h."offset" <= m.below`;

const PRUNE_CHUNK = 5000;
/** Topics remembered for count retention between prunes; beyond it one full sweep runs instead. */
const TOUCHED_MAX = 10_000;
const LOG_EVERY_MS = 10_000;

interface HistoryRow {
  topic: string;
  epoch: string;
  offset: string;
  event: string;
  payload: string;
  is_binary: boolean;
  origin: string;
  published_at: Date;
  traceparent: string | null;
}

/** Data errors (SQLSTATE class 22/23) are about one row: retrying the same row can never succeed. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

/**
 * History in PostgreSQL behind a bounded write queue. `enqueue` only appends to memory; one
 * background writer sends batches as multi-row INSERTs (at most `flushMs` after the first row, or
 * at once when `batchSize` rows wait). While PostgreSQL is down the writer retries the same batch
 * with exponential backoff and the queue fills up to `queueMax`, after which new publications are
 * dropped and counted (switchboard_history_dropped_total). Retention runs every `pruneIntervalMs`.
 */
export class PostgresHistoryStore implements HistoryStore {
  readonly durable = true;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly opts: Required<Omit<PostgresHistoryStoreOptions, 'databaseUrl' | 'pool' | 'logger'>>;
  private readonly log: Logger | undefined;
  private queue: SequencedPublication[] = [];
  private wake: (() => void) | undefined;
  private writer: Promise<void> | undefined;
  private pruner: NodeJS.Timeout | undefined;
  private pruning: Promise<unknown> | undefined;
  private closed = false;
  private schemaReady: boolean;
  private flushRequests = 0;
  private readonly emptied = new Set<() => void>();
  private failures = 0;
  private lastFailureLog = 0;
  private droppedSinceLog = 0;
  private lastDropLog = 0;
  /** (topic, epoch) -> highest offset written since the last count prune. */
  private touched = new Map<string, { topic: string; epoch: string; offset: number }>();
  private touchedOverflow = false;

  constructor(opts: PostgresHistoryStoreOptions) {
    for (const k of ['queueMax', 'batchSize', 'flushMs', 'retentionCount', 'retentionSeconds'] as const) {
      if (!Number.isSafeInteger(opts[k]) || opts[k] < 1) {
        throw new RangeError(`PostgresHistoryStore: ${k} must be a whole number >= 1`);
      }
    }
    if (!opts.pool && !opts.databaseUrl)
      throw new TypeError('PostgresHistoryStore: pass databaseUrl or pool');
    this.ownsPool = !opts.pool;
    this.pool =
      opts.pool ??
      new pg.Pool({
        connectionString: opts.databaseUrl,
        max: 4,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 30_000,
        query_timeout: 30_000,
        application_name: 'switchboard-history',
      });
    // An idle client whose server went away emits here; without a listener the process would crash.
    this.pool.on('error', (err) => this.logFailure(err));
    this.log = opts.logger;
    this.opts = {
      queueMax: opts.queueMax,
      batchSize: opts.batchSize,
      flushMs: opts.flushMs,
      retentionCount: opts.retentionCount,
      retentionSeconds: opts.retentionSeconds,
      migrateOnStart: opts.migrateOnStart,
      pruneIntervalMs: opts.pruneIntervalMs ?? 60_000,
      maxBackoffMs: opts.maxBackoffMs ?? 5000,
    };
    this.schemaReady = !opts.migrateOnStart;
  }

  /** Publications waiting to be written (also the switchboard_history_queue_depth gauge). */
  get queueDepth(): number {
    return this.queue.length;
  }

  async start(): Promise<void> {
    if (this.writer) return;
    await this.ensureSchema().catch((err: Error) =>
      this.log?.warn(
        { err: err.message },
        'history: migrations not applied yet (PostgreSQL unreachable?); will retry',
      ),
    );
    this.writer = this.runWriter();
    this.pruner = setInterval(
      () => void this.prune().catch((err: Error) => this.logFailure(err)),
      this.opts.pruneIntervalMs,
    );
    this.pruner.unref();
  }

  enqueue(pub: SequencedPublication): void {
    if (!isSequenced(pub)) {
      throw new TypeError(
        'history enqueue: the publication has no epoch/offset; pass what Sequencer.append returned',
      );
    }
    if (this.closed || this.queue.length >= this.opts.queueMax) {
      metrics.historyDropped.inc();
      this.droppedSinceLog++;
      const now = Date.now();
      if (now - this.lastDropLog >= LOG_EVERY_MS) {
        this.log?.warn(
          { dropped: this.droppedSinceLog, queueMax: this.opts.queueMax },
          'history write queue full: publications dropped from history (PostgreSQL slow or down)',
        );
        this.lastDropLog = now;
        this.droppedSinceLog = 0;
      }
      return;
    }
    this.queue.push(pub);
    metrics.historyQueueDepth.set(this.queue.length);
    if (this.queue.length === 1 || this.queue.length === this.opts.batchSize) this.signal();
  }

  async read(
    topic: string,
    epoch: string,
    afterOffset: number,
    limit: number,
  ): Promise<SequencedPublication[]> {
    if (limit <= 0) return [];
    const { rows } = await this.pool.query<HistoryRow>(READ_SQL, [
      topic,
      epoch,
      afterOffset,
      Math.min(limit, 100_000),
    ]);
    return rows.map((r) => {
      const pub: SequencedPublication = {
        topic: r.topic,
        event: r.event,
        origin: r.origin,
        publishedAt: r.published_at.getTime(),
        epoch: r.epoch,
        offset: Number(r.offset),
      };
      if (r.is_binary) {
        pub.payload = JSON.parse(r.payload) as string; // the base64 text, stored as a JSON string
        pub.binary = true;
      } else {
        pub.payloadJson = r.payload;
      }
      if (r.traceparent !== null) pub.traceparent = r.traceparent;
      return pub;
    });
  }

  async bytes(topic: string, epoch: string, afterOffset: number, throughOffset: number): Promise<number> {
    if (throughOffset <= afterOffset) return 0;
    const { rows } = await this.pool.query<{ bytes: number }>(BYTES_SQL, [
      topic,
      epoch,
      afterOffset,
      throughOffset,
    ]);
    return Number(rows[0]?.bytes ?? 0);
  }

  async flush(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0) return true;
    if (!this.writer || this.closed) return false;
    this.flushRequests++;
    this.signal();
    let done: () => void = () => {};
    const emptied = new Promise<void>((r) => (done = r));
    this.emptied.add(done);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    try {
      await Promise.race([emptied, timedOut]);
      return this.queue.length === 0;
    } finally {
      clearTimeout(timer);
      this.emptied.delete(done);
      this.flushRequests--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pruner) clearInterval(this.pruner);
    this.signal();
    await this.writer;
    await this.pruning?.catch(() => undefined);
    for (const done of this.emptied) done();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  /**
   * Applies retention now: deletes rows older than retentionSeconds, and for every (topic, epoch)
   * written since the last prune, rows more than retentionCount offsets behind the newest.
   */
  async prune(): Promise<{ byAge: number; byCount: number }> {
    if (this.pruning) await this.pruning.catch(() => undefined);
    const run = this.pruneOnce();
    this.pruning = run;
    try {
      return await run;
    } finally {
      if (this.pruning === run) this.pruning = undefined;
    }
  }

  private async pruneOnce(): Promise<{ byAge: number; byCount: number }> {
    let byAge = 0;
    for (let i = 0; i < 100 && !this.closed; i++) {
      const r = await this.pool.query(PRUNE_AGE_SQL, [this.opts.retentionSeconds, PRUNE_CHUNK]);
      byAge += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < PRUNE_CHUNK) break;
    }
    let byCount = 0;
    if (this.touchedOverflow) {
      this.touchedOverflow = false;
      this.touched.clear();
      byCount += (await this.pool.query(PRUNE_COUNT_ALL_SQL, [this.opts.retentionCount])).rowCount ?? 0;
    }
    const due = [...this.touched.values()].filter((t) => t.offset > this.opts.retentionCount);
    this.touched.clear();
    for (let i = 0; i < due.length; i += 500) {
      const chunk = due.slice(i, i + 500);
      const r = await this.pool.query(PRUNE_COUNT_SQL, [
        chunk.map((t) => t.topic),
        chunk.map((t) => t.epoch),
        chunk.map((t) => t.offset - this.opts.retentionCount),
      ]);
      byCount += r.rowCount ?? 0;
    }
    return { byAge, byCount };
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Sleeps `ms` (Infinity: until signalled); `signal()` ends it early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.signal(), ms) : undefined;
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async runWriter(): Promise<void> {
    while (!this.closed) {
      if (this.queue.length === 0) {
        for (const done of this.emptied) done();
        await this.sleep(Infinity);
        continue;
      }
      if (this.queue.length < this.opts.batchSize && this.flushRequests === 0 && this.failures === 0) {
        await this.sleep(this.opts.flushMs);
        if (this.closed) break;
      }
      try {
        await this.writeBatch();
        if (this.failures > 0) {
          this.log?.info({ failures: this.failures, queued: this.queue.length }, 'history writes resumed');
        }
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.logFailure(err as Error);
        const backoff = Math.min(this.opts.maxBackoffMs, 100 * 2 ** Math.min(this.failures - 1, 16));
        await this.sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  }

  private async ensureSchema(): Promise<void> {
    if (this.schemaReady) return;
    const result = await migrate(this.pool);
    this.schemaReady = true;
    if (result.applied.length > 0) {
      this.log?.info({ applied: result.applied, version: result.version }, 'history: migrations applied');
    }
  }

  private async writeBatch(): Promise<void> {
    await this.ensureSchema();
    const batch = this.queue.slice(0, this.opts.batchSize);
    const end = metrics.historyWriteLatency.startTimer();
    try {
      await this.insert(batch);
    } catch (err) {
      if (!isDataError(err)) throw err;
      await this.insertOneByOne(batch);
      return;
    }
    end();
    this.written(batch.length, batch);
  }

  /** A batch with one bad row (e.g. a NUL byte in a topic): write the rest, drop and count the bad ones. */
  private async insertOneByOne(batch: SequencedPublication[]): Promise<void> {
    let done = 0;
    try {
      for (const pub of batch) {
        try {
          await this.insert([pub]);
        } catch (err) {
          if (!isDataError(err)) throw err;
          metrics.historyDropped.inc();
          this.log?.warn(
            { err: (err as Error).message, offset: pub.offset },
            'history: a publication PostgreSQL rejects was dropped from history',
          );
        }
        done++;
      }
    } finally {
      this.written(done, batch.slice(0, done));
    }
  }

  private written(count: number, rows: SequencedPublication[]): void {
    this.queue.splice(0, count);
    metrics.historyQueueDepth.set(this.queue.length);
    for (const pub of rows) {
      const key = `${pub.topic}\u0000${pub.epoch}`;
      const seen = this.touched.get(key);
      if (seen) seen.offset = Math.max(seen.offset, pub.offset);
      else if (this.touched.size < TOUCHED_MAX)
        this.touched.set(key, { topic: pub.topic, epoch: pub.epoch, offset: pub.offset });
      else this.touchedOverflow = true;
    }
  }

  private async insert(rows: SequencedPublication[]): Promise<void> {
    const payloads = rows.map((p) => {
      try {
        return p.binary ? JSON.stringify(p.payload) : payloadJsonOf(p);
      } catch {
        return 'null';
      }
    });
    await this.pool.query(INSERT_SQL, [
      rows.map((p) => p.topic),
      rows.map((p) => p.epoch),
      rows.map((p) => p.offset),
      rows.map((p) => p.event),
      payloads,
      rows.map((p) => p.binary === true),
      rows.map((p) => p.origin),
      rows.map((p) => p.publishedAt),
      rows.map((p) => p.traceparent ?? null),
    ]);
  }

  private logFailure(err: Error): void {
    const now = Date.now();
    if (now - this.lastFailureLog < LOG_EVERY_MS) return;
    this.lastFailureLog = now;
    const hint =
      (err as { code?: string }).code === '42P01' ? ' (schema missing: run `npm run migrate`)' : '';
    this.log?.warn(
      { err: err.message, queued: this.queue.length, failures: this.failures },
      `history: PostgreSQL write failed${hint}; retrying with backoff`,
    );
  }
}
