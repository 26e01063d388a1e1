import { Cluster, Redis } from 'ioredis';
import { payloadJsonOf, type Publication } from '../broker/broker.js';
import { isRedisAuthError, redisAuthFailure, redisAuthOptions, type RedisAuth } from '../redis-auth.js';
import type { Logger } from '../telemetry/logger.js';
import { historyCacheMetrics } from './cache-metrics.js';
import { decodePublication, encodeUnsequenced, topicChannel, topicKeys } from './publication-codec.js';
import {
  isSequenced,
  newEpoch,
  type SequencedPublication,
  type Sequencer,
  type StreamPosition,
} from './sequencer.js';

/** Where the sequence lives: standalone Redis (PUBLISH) or Redis Cluster (SPUBLISH), and its credentials. */
export type RedisTarget = ({ url: string } | { clusterNodes: { host: string; port: number }[] }) & {
  auth?: RedisAuth;
};

/** Options of `RedisSequencer`. */
export interface RedisSequencerOptions {
  redis: RedisTarget;
  /** Publications kept per topic in the hot cache `sb:hist:{t}` (0 keeps none). */
  cacheSize: number;
  /** The hot cache of a topic expires after this long without a publish. */
  cacheTtlMs: number;
  /** Bytes (encoded publications) kept per topic in the hot cache; the oldest go first. Default: unbounded. */
  cacheTopicMaxBytes?: number;
  /**
   * The epoch and counter of a topic expire after this long without a publish or a position call
   * (its next epoch is then new). Keep it above the history retention. Default 7 days.
   */
  sequenceTtlMs?: number;
  /** PUBLISH/SPUBLISH each publication on `topicChannel(topic)` from the script. Default true. */
  deliver?: boolean;
  logger?: Logger;
}

// Shared prologue. KEYS: epoch, seq, hist, histbytes. ARGV[1]: candidate epoch, ARGV[2]: sequence TTL (ms).
// When the counter is missing (new topic, Redis restarted without persistence, key evicted) every
// offset handed out before is void, so the epoch is replaced together with the counter. Never the
// counter without the epoch: that is what makes "same epoch" mean "same gap-free sequence".
const ensureEpoch = `
local epoch = redis.call('GET', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[2], 0)
  redis.call('DEL', KEYS[3], KEYS[4])
elseif not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[3], KEYS[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
`;

// ARGV[3]: publication JSON without epoch/offset; ARGV[4]: cache size; ARGV[5]: cache TTL (ms);
// ARGV[6]: channel; ARGV[7]: 'publish' | 'spublish' | 'none'; ARGV[8]: cache bytes per topic
// (-1: unbounded). Returns { epoch, offset, evicted by the byte budget }.
// INCR, cache and publish happen in one script, so the channel carries offsets in order.
// KEYS[4] counts the bytes of KEYS[3]. A cache without its count (written before the count existed,
// or the count key evicted) is counted once; a count without its cache is dropped.
const appendLua = `${ensureEpoch}
local offset = redis.call('INCR', KEYS[2])
local msg = '{"epoch":' .. cjson.encode(epoch) .. ',"offset":' .. string.format('%d', offset) .. ',' .. string.sub(ARGV[3], 2)
local size = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[8])
local evicted = 0
if size > 0 then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    redis.call('DEL', KEYS[4])
  elseif redis.call('EXISTS', KEYS[4]) == 0 then
    local n = 0
    for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do n = n + #m end
    redis.call('SET', KEYS[4], n)
  end
  redis.call('ZADD', KEYS[3], offset, msg)
  local bytes = redis.call('INCRBY', KEYS[4], #msg)
  local over = redis.call('ZCARD', KEYS[3]) - size
  while over > 0 or (maxBytes >= 0 and bytes > maxBytes) do
    local head = redis.call('ZPOPMIN', KEYS[3])
    if #head == 0 then break end
    bytes = redis.call('DECRBY', KEYS[4], #head[1])
    if over <= 0 then evicted = evicted + 1 end
    over = over - 1
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
  redis.call('PEXPIRE', KEYS[4], ARGV[5])
end
if ARGV[7] == 'publish' then
  redis.call('PUBLISH', ARGV[6], msg)
elseif ARGV[7] == 'spublish' then
  redis.call('SPUBLISH', ARGV[6], msg)
end
return { epoch, offset, evicted }
`;

const positionLua = `${ensureEpoch}
return { epoch, tonumber(redis.call('GET', KEYS[2])) }
`;

type ScriptArg = string | number;
/** The commands `defineCommand` adds; ioredis types do not know them. */
interface SequencerCommands {
  sbAppend(...args: ScriptArg[]): Promise<[string, number, number]>;
  sbPosition(...args: ScriptArg[]): Promise<[string, number]>;
}

const DEFAULT_SEQUENCE_TTL_MS = 7 * 86_400_000;

/**
 * Sequencer for several nodes, on standalone Redis or Redis Cluster. One Lua script per publish
 * (EVALSHA, loaded on first use) does, atomically: get-or-create the epoch, INCR the counter,
 * add the publication to a hot cache capped in count and bytes, and PUBLISH (or SPUBLISH on a cluster) it on the
 * topic's channel. All keys and the channel carry the hash tag `{<topic>}`, so on a cluster they
 * live in one slot and the script runs on the node that owns the topic.
 */
export class RedisSequencer implements Sequencer {
  readonly deliversToNodes: boolean;
  readonly client: Redis | Cluster;
  private readonly commands: SequencerCommands;
  private readonly mode: 'publish' | 'spublish' | 'none';
  private readonly sequenceTtlMs: number;
  private lastErrorLog = 0;

  constructor(private readonly opts: RedisSequencerOptions) {
    if (!Number.isSafeInteger(opts.cacheSize) || opts.cacheSize < 0) {
      throw new RangeError('RedisSequencer: cacheSize must be a whole number >= 0');
    }
    if (!Number.isSafeInteger(opts.cacheTtlMs) || opts.cacheTtlMs <= 0) {
      throw new RangeError('RedisSequencer: cacheTtlMs must be a whole number > 0');
    }
    const maxBytes = opts.cacheTopicMaxBytes;
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
      throw new RangeError('RedisSequencer: cacheTopicMaxBytes must be a whole number >= 0');
    }
    this.sequenceTtlMs = opts.sequenceTtlMs ?? DEFAULT_SEQUENCE_TTL_MS;
    const deliver = opts.deliver ?? true;
    // No offline queue: while Redis is away a publish fails at once instead of piling up in memory.
    const auth = redisAuthOptions(opts.redis.auth);
    const common = { ...auth, lazyConnect: true, enableOfflineQueue: false, commandTimeout: 5000 };
    if ('url' in opts.redis) {
      this.client = new Redis(opts.redis.url, { ...common, maxRetriesPerRequest: 1 });
      this.mode = deliver ? 'publish' : 'none';
    } else {
      this.client = new Cluster(opts.redis.clusterNodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        redisOptions: { ...auth, commandTimeout: 5000 },
      });
      this.mode = deliver ? 'spublish' : 'none';
    }
    this.deliversToNodes = deliver;
    this.client.on('error', (err: Error) => this.logError(err));
    this.client.defineCommand('sbAppend', { numberOfKeys: 4, lua: appendLua });
    this.client.defineCommand('sbPosition', { numberOfKeys: 4, lua: positionLua });
    this.commands = this.client as unknown as SequencerCommands;
  }

  /** Connects; rejects after `connectTimeoutMs` (default 10 s) without Redis. ioredis keeps retrying after that. */
  async start(connectTimeoutMs = 10_000): Promise<void> {
    let lastError = '';
    const remember = (err: Error & { lastNodeError?: Error }) =>
      (lastError = err.lastNodeError?.message ?? err.message);
    this.client.on('error', remember);
    this.client.on('node error', remember);
    if (this.client.status === 'wait') {
      this.client.connect().catch(remember);
    }
    const deadline = Date.now() + connectTimeoutMs;
    while (this.client.status !== 'ready') {
      if (isRedisAuthError(lastError)) {
        this.client.off('error', remember).off('node error', remember);
        this.client.disconnect();
        const where =
          'url' in this.opts.redis
            ? this.opts.redis.url.replace(/\/\/[^@/]*@/, '//***@')
            : this.opts.redis.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',');
        throw redisAuthFailure(where, lastError);
      }
      if (Date.now() > deadline) {
        this.client.off('error', remember).off('node error', remember);
        throw new Error(
          `history sequencer could not reach Redis within ${connectTimeoutMs} ms${lastError ? ` (${lastError})` : ''}; check REDIS_URL / REDIS_CLUSTER_NODES and that Redis is up`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    this.client.off('error', remember).off('node error', remember);
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ready);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(this.client.status === 'ready'), timeoutMs);
      this.client.on('ready', onReady);
    });
  }

  async append(pub: Publication): Promise<SequencedPublication> {
    const keys = topicKeys(pub.topic);
    const [epoch, offset, evicted] = await this.commands.sbAppend(
      keys.epoch,
      keys.seq,
      keys.hist,
      keys.histBytes,
      newEpoch(),
      this.sequenceTtlMs,
      encodeUnsequenced(pub),
      this.opts.cacheSize,
      this.opts.cacheTtlMs,
      topicChannel(pub.topic),
      this.mode,
      this.opts.cacheTopicMaxBytes ?? -1,
    );
    if (evicted > 0) historyCacheMetrics.evictedTopicBytes.inc(evicted);
    return { ...pub, epoch, offset: Number(offset) };
  }

  async position(topic: string): Promise<StreamPosition> {
    const keys = topicKeys(topic);
    const [epoch, offset] = await this.commands.sbPosition(
      keys.epoch,
      keys.seq,
      keys.hist,
      keys.histBytes,
      newEpoch(),
      this.sequenceTtlMs,
    );
    return { epoch, offset: Number(offset) };
  }

  async readRecent(topic: string, epoch: string, afterOffset: number): Promise<SequencedPublication[]> {
    const raw = await this.client.zrangebyscore(topicKeys(topic).hist, `(${afterOffset}`, '+inf');
    const out: SequencedPublication[] = [];
    for (const item of raw) {
      try {
        const pub = decodePublication(item);
        // An entry cached with a parsed payload (before payloadJson) is encoded once here: one
        // that cannot be (too deep) is skipped, so recovery reports a gap instead of failing.
        if (!pub.binary && pub.payloadJson === undefined) pub.payloadJson = payloadJsonOf(pub);
        if (isSequenced(pub) && pub.epoch === epoch && pub.offset > afterOffset) out.push(pub);
      } catch (err) {
        this.logError(err as Error);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private logError(err: Error): void {
    // ioredis repeats connection errors on every retry; one line per 10 s is enough to see it.
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.opts.logger?.warn({ err: err.message }, 'history sequencer: redis error');
  }
}
