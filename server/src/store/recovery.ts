import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
import { publicationBytes, type HistoryStore } from './history-store.js';
import type { RecoveryBudget } from './recovery-budget.js';
import type { SequencedPublication, Sequencer, StreamPosition } from './sequencer.js';

/** What a rejoining client says it has seen: the last epoch and offset it received on `topic`. */
export interface RecoveryRequest {
  topic: string;
  epoch: string;
  offset: number;
}

/** Why recovery succeeded or not (for logs and tests; clients only see `recovered`). */
export type RecoveryReason =
  'recovered' | 'epoch_changed' | 'bad_offset' | 'too_many' | 'too_large' | 'busy' | 'gap' | 'unavailable';

/**
 * The answer to a rejoin. `epoch`/`offset` are the topic's current position (what the client
 * should remember next). `publications` holds exactly offsets request.offset+1 .. offset, in order,
 * when `recovered` is true, and is empty otherwise: never a partial fill.
 */
export interface RecoveryResult extends StreamPosition {
  recovered: boolean;
  reason: RecoveryReason;
  publications: SequencedPublication[];
  /**
   * Gives back the node budget reserved for `publications`: call it once they are written to the
   * client (or abandoned). A no-op when nothing was reserved; safe to call more than once.
   */
  release: () => void;
}

/** Recovery options. */
export interface RecoveryOptions {
  /** More missed messages than this -> not recovered (HISTORY_RECOVERY_MAX). */
  maxMessages: number;
  /** Missed messages totalling more bytes than this -> `too_large` (HISTORY_RECOVERY_MAX_BYTES). Default: unbounded. */
  maxBytes?: number;
  /** Node-wide bytes of recovered messages held at once (HISTORY_RECOVERY_NODE_MAX_BYTES); none fit -> `busy`. */
  budget?: RecoveryBudget;
  /** How long to wait for batched writes still on their way to a durable store (default 1000 ms). */
  settleMs?: number;
  logger?: Logger;
}

/**
 * Decides whether a rejoining client can get everything it missed, and collects it.
 *
 * Same epoch required; then offsets request.offset+1 .. top are taken from the sequencer's cache
 * first and from the durable store for what is older than the cache, and the result counts as
 * recovered only if that set is exactly contiguous (a dropped history write, an expired cache or
 * pruned rows make it not so). Publications appended after `top` was read are not included: the
 * caller subscribes before calling and delivers live publications with offset > top.
 *
 * Throws only when the sequencer is unreachable (no position to report); store failures make the
 * result `recovered: false`. Counts switchboard_recoveries_total{outcome}.
 */
export async function recover(
  req: RecoveryRequest,
  sequencer: Sequencer,
  store: HistoryStore,
  opts: RecoveryOptions,
): Promise<RecoveryResult> {
  let position: StreamPosition;
  try {
    position = await sequencer.position(req.topic);
  } catch (err) {
    metrics.recoveries.inc({ outcome: 'not_recovered' });
    throw err;
  }
  const result = await collect(req, position, sequencer, store, opts);
  metrics.recoveries.inc({ outcome: result.recovered ? 'recovered' : 'not_recovered' });
  return result;
}

async function collect(
  req: RecoveryRequest,
  top: StreamPosition,
  sequencer: Sequencer,
  store: HistoryStore,
  opts: RecoveryOptions,
): Promise<RecoveryResult> {
  const none = (): void => {};
  const no = (reason: RecoveryReason): RecoveryResult => ({
    ...top,
    recovered: false,
    reason,
    publications: [],
    release: none,
  });
  if (req.epoch !== top.epoch) return no('epoch_changed');
  if (!Number.isSafeInteger(req.offset) || req.offset < 0 || req.offset > top.offset) return no('bad_offset');
  const missed = top.offset - req.offset;
  if (missed === 0) return { ...top, recovered: true, reason: 'recovered', publications: [], release: none };
  if (missed > opts.maxMessages) return no('too_many');

  // Size the gap before reading it: HISTORY_RECOVERY_MAX_BYTES per join, and the node's budget for
  // everything being recovered at once, so concurrent recoveries of big gaps cannot exhaust memory.
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const reserve = (bytes: number) => (opts.budget ? opts.budget.take(bytes) : none);
  let release: () => void;
  let reserved: number;
  let recent: SequencedPublication[];
  try {
    ({ bytes: reserved, recent } = await gapBytes(req, top, sequencer, store));
    if (reserved > maxBytes) return no('too_large');
    const taken = reserve(reserved);
    if (taken === null) return no('busy');
    release = taken;
  } catch (err) {
    opts.logger?.warn(
      { err: (err as Error).message },
      'history: sizing a recovery failed; answering recovered=false',
    );
    return no('unavailable');
  }
  const answer = await gatherSettled(req, top, sequencer, store, opts, recent);
  if (!answer.recovered) {
    release();
    return { ...answer, release: none };
  }
  // Writes still queued for the store when the gap was sized were not counted; the queue itself is
  // bounded (HISTORY_QUEUE_MAX), and what they add is checked here before anything is sent.
  let actual = 0;
  for (const p of answer.publications) actual += publicationBytes(p);
  if (actual > reserved) {
    const extra = actual > maxBytes ? null : reserve(actual - reserved);
    if (extra === null) {
      release();
      return no(actual > maxBytes ? 'too_large' : 'busy');
    }
    const first = release;
    release = () => {
      first();
      extra();
    };
  }
  return { ...answer, release };
}

/** Waits up to the settle time for the whole range to be readable; `no` answers without a release. */
async function gatherSettled(
  req: RecoveryRequest,
  top: StreamPosition,
  sequencer: Sequencer,
  store: HistoryStore,
  opts: RecoveryOptions,
  sized: SequencedPublication[],
): Promise<Omit<RecoveryResult, 'release'>> {
  const no = (reason: RecoveryReason) => ({ ...top, recovered: false, reason, publications: [] });

  // Writes are batched: offsets the cache has already let go of may still be on their way to the
  // store (from any node). Everything up to `top` was appended before we read it, so a durable store
  // holds it within about one flush interval; wait that long before answering "gap".
  const deadline = Date.now() + (store.durable ? (opts.settleMs ?? 1000) : 0);
  try {
    // The first try reuses the cached suffix the sizing read (offsets never change); retries read anew.
    for (let recent: SequencedPublication[] | undefined = sized; ; recent = undefined) {
      const publications = await gather(req, top, sequencer, store, recent);
      if (isExactly(publications, req.offset + 1, top.offset)) {
        return { ...top, recovered: true, reason: 'recovered', publications };
      }
      if (Date.now() >= deadline) return no('gap');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    opts.logger?.warn(
      { err: (err as Error).message },
      'history: recovery read failed; answering recovered=false',
    );
    return no('unavailable');
  }
}

/**
 * Bytes of offsets req.offset+1 .. top: the cached suffix (already in memory, bounded by the cache
 * budget) measured here, the older part summed by the store. Offsets are immutable, so the read
 * that follows brings in at most this much, whichever source each publication then comes from.
 * Returns the cached suffix too, for the first read to reuse.
 */
async function gapBytes(
  req: RecoveryRequest,
  top: StreamPosition,
  sequencer: Sequencer,
  store: HistoryStore,
): Promise<{ bytes: number; recent: SequencedPublication[] }> {
  const recent = await readCached(req, top, sequencer);
  const firstCached = recent[0]?.offset ?? top.offset + 1;
  let bytes = 0;
  for (const p of recent) bytes += publicationBytes(p);
  if (firstCached > req.offset + 1)
    bytes += await store.bytes(req.topic, top.epoch, req.offset, firstCached - 1);
  return { bytes, recent };
}

/** The sequencer's cached publications after the client's offset, up to `top`. */
async function readCached(
  req: RecoveryRequest,
  top: StreamPosition,
  sequencer: Sequencer,
): Promise<SequencedPublication[]> {
  return (await sequencer.readRecent(req.topic, top.epoch, req.offset)).filter((p) => p.offset <= top.offset);
}

/**
 * Offsets req.offset+1 .. top from the cache (a suffix of the stream) and the store (the rest);
 * `cached`: the cache's part as already read.
 */
async function gather(
  req: RecoveryRequest,
  top: StreamPosition,
  sequencer: Sequencer,
  store: HistoryStore,
  cached?: SequencedPublication[],
): Promise<SequencedPublication[]> {
  const recent = cached ?? (await readCached(req, top, sequencer));
  const firstCached = recent[0]?.offset ?? top.offset + 1;
  if (firstCached <= req.offset + 1) return recent;
  const need = firstCached - req.offset - 1;
  const older = (await store.read(req.topic, top.epoch, req.offset, need)).filter(
    (p) => p.offset < firstCached,
  );
  return [...older, ...recent];
}

/** True when `pubs` are offsets from..to, each once, ascending. */
function isExactly(pubs: SequencedPublication[], from: number, to: number): boolean {
  if (pubs.length !== to - from + 1) return false;
  return pubs.every((p, i) => p.offset === from + i);
}

/** A page of history for the backend API (GET /api/topics/:topic/messages?since=OFFSET). */
export interface HistoryPage extends StreamPosition {
  /** Publications with offset > since in the current epoch, ascending, at most `limit`. */
  publications: SequencedPublication[];
  /** True when `publications` are contiguous from since+1 (nothing missing at the start or between). */
  complete: boolean;
}

/**
 * Reads what history holds after offset `since` in the topic's current epoch, from the cache and
 * the durable store, merged by offset. Unlike `recover` it returns what exists even with gaps and
 * says so in `complete`. Throws when the sequencer or the store is unreachable.
 */
export async function readSince(
  topic: string,
  since: number,
  limit: number,
  sequencer: Sequencer,
  store: HistoryStore,
): Promise<HistoryPage> {
  if (!Number.isSafeInteger(since) || since < 0) throw new RangeError('since must be a whole number >= 0');
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number >= 1');
  const top = await sequencer.position(topic);
  const [recent, durable] = await Promise.all([
    sequencer.readRecent(topic, top.epoch, since),
    store.read(topic, top.epoch, since, limit),
  ]);
  const byOffset = new Map<number, SequencedPublication>();
  for (const p of [...durable, ...recent]) if (p.offset <= top.offset) byOffset.set(p.offset, p);
  const publications = [...byOffset.values()].sort((a, b) => a.offset - b.offset).slice(0, limit);
  const expectedLast = Math.max(since, Math.min(top.offset, since + limit));
  return { ...top, publications, complete: isExactly(publications, since + 1, expectedLast) };
}
