import { Cluster, Redis } from 'ioredis';
import { isRedisAuthError, redisAuthFailure, redisAuthOptions, type RedisAuth } from '../redis-auth.js';

export type { RedisAuth } from '../redis-auth.js';

/**
 * Where Redis is: one standalone server (`redis://` URL) or the seed nodes of a Redis Cluster, and the
 * credentials (`auth`; credentials written in the URL take precedence, as ioredis merges them).
 */
export type RedisTarget = ({ url: string } | { clusterNodes: { host: string; port: number }[] }) & {
  auth?: RedisAuth;
};

/** The part of a pino logger the Redis components use. */
export interface RedisLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of `RedisLink`; every duration has a documented default. */
export interface RedisLinkOptions {
  target: RedisTarget;
  /** Client name shown by CLIENT LIST and in logs, e.g. `sb-broker-node1`. */
  name: string;
  logger?: RedisLogger;
  /** Bound on one publish, subscribe or probe round trip. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** `start()` gives up after this long without a healthy connection. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** How often every shard is pinged to decide `isConnected()`. Default 1000 ms. */
  healthCheckIntervalMs?: number;
}

const CLUSTER_SLOTS = 16384;

/**
 * Checks a Redis target before anything connects and says which field is wrong and how to fix it.
 * `field` names the setting in the caller's terms (for example `REDIS_URL`).
 */
export function validateRedisTarget(target: RedisTarget, field = 'redis'): void {
  if ('url' in target) {
    if (!/^rediss?:\/\//.test(target.url)) {
      throw new Error(`${field}: "${target.url}" is not a Redis URL; use redis://host:port (or rediss://)`);
    }
    return;
  }
  if (!Array.isArray(target.clusterNodes) || target.clusterNodes.length === 0) {
    throw new Error(`${field}: no cluster nodes; give at least one host:port of the cluster`);
  }
  for (const n of target.clusterNodes) {
    if (
      typeof n.host !== 'string' ||
      n.host === '' ||
      !Number.isInteger(n.port) ||
      n.port < 1 ||
      n.port > 65535
    ) {
      throw new Error(`${field}: "${n.host}:${n.port}" is not host:port with a port in 1..65535`);
    }
  }
}

/** Resolves or rejects like `promise`, or rejects after `ms` with a message naming `what`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Redis connections one component (broker or presence) needs, and one notion of "connected".
 *
 * - `commands` runs commands and scripts. It never queues while offline (a publish fails at once
 *   rather than piling up in memory).
 * - a subscriber carries subscriptions. It queues SUBSCRIBE/UNSUBSCRIBE while offline and restores
 *   every subscription after a reconnect: standalone through ioredis `autoResubscribe` (plus the
 *   resend of commands that were in flight), cluster through ioredis' sharded subscriber group
 *   (`shardedSubscribers: true`: one SSUBSCRIBE connection per master, resubscribed when the slot
 *   map is rebuilt or a master comes back).
 * - Standalone uses PUBLISH/SUBSCRIBE; cluster uses Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE),
 *   so a message only travels to the shard that owns the channel's slot instead of every node.
 *
 * `isConnected()` is true while both connections are ready and, checked every
 * `healthCheckIntervalMs`, every master that owns slots answers PING within `commandTimeoutMs`.
 */
export class RedisLink {
  /** True on Redis Cluster: publish with SPUBLISH, subscribe with SSUBSCRIBE. */
  readonly sharded: boolean;
  readonly commands: Redis | Cluster;
  private readonly subscriber: Redis | Cluster;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly healthCheckIntervalMs: number;
  private readonly messageListeners: ((channel: string, message: string) => void)[] = [];
  private readonly changeListeners: ((connected: boolean) => void)[] = [];
  private connected = false;
  private everConnected = false;
  private closed = false;
  private lastError: string | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly opts: RedisLinkOptions) {
    validateRedisTarget(opts.target);
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 2000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.healthCheckIntervalMs = opts.healthCheckIntervalMs ?? 1000;
    const target = opts.target;
    if ('url' in target) {
      this.sharded = false;
      const auth = redisAuthOptions(target.auth);
      this.commands = new Redis(target.url, {
        ...auth,
        lazyConnect: true,
        connectionName: `${opts.name}-cmd`,
        enableOfflineQueue: false,
        // A command in flight when the connection drops is rejected, never resent after the
        // reconnect: a publish the caller saw fail must not be delivered later.
        maxRetriesPerRequest: 0,
      });
      this.subscriber = new Redis(target.url, {
        ...auth,
        lazyConnect: true,
        connectionName: `${opts.name}-sub`,
        // Only (UN)SUBSCRIBE goes through this connection, so queueing them while offline is bounded
        // by topic churn; never give up on them (null), or a subscription would be silently lost.
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        autoResubscribe: true,
      });
      this.subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    } else {
      this.sharded = true;
      this.commands = new Cluster(target.clusterNodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        // A command for a dead master is retried every ~100 ms until the redirections run out; few
        // retries and short connects let ioredis give up well before our own deadline, so a publish
        // the caller saw fail is not sent once the master is back.
        maxRedirections: 6,
        redisOptions: {
          ...redisAuthOptions(target.auth),
          connectionName: `${opts.name}-cmd`,
          connectTimeout: 2000,
        },
      });
      this.subscriber = new Cluster(target.clusterNodes, {
        lazyConnect: true,
        enableOfflineQueue: true,
        shardedSubscribers: true,
        redisOptions: { ...redisAuthOptions(target.auth), connectionName: `${opts.name}-sub` },
      });
      this.subscriber.on('smessage', (channel: string, message: string) => this.deliver(channel, message));
    }
    for (const client of [this.commands, this.subscriber]) {
      // ioredis repeats the error of every reconnect attempt; the state change is what gets logged.
      client.on('error', (err: Error & { lastNodeError?: Error }) => {
        // A Cluster reports "Failed to refresh slots cache."; the node's own answer (NOAUTH...) is inside.
        this.lastError = err.lastNodeError?.message ?? err.message;
      });
      client.on('node error', (err: Error) => {
        this.lastError = err.message;
      });
      client.on('ready', () => void this.evaluate(true));
      for (const event of ['close', 'end', 'reconnecting', '-node']) {
        client.on(event, () => void this.evaluate(false));
      }
    }
  }

  /** Connects both roles; resolves once `isConnected()`, rejects after `connectTimeoutMs`. */
  async start(): Promise<void> {
    if (this.closed) throw new Error('RedisLink.start after close');
    for (const client of [this.commands, this.subscriber]) {
      // A refused first attempt rejects here, but ioredis keeps retrying in the background.
      if (client.status === 'wait') client.connect().catch(() => undefined);
    }
    this.healthTimer ??= setInterval(() => void this.evaluate(true), this.healthCheckIntervalMs);
    this.healthTimer.unref();
    const deadline = Date.now() + this.connectTimeoutMs;
    const where =
      'url' in this.opts.target
        ? this.opts.target.url.replace(/\/\/[^@/]*@/, '//***@')
        : this.opts.target.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',');
    while (!this.connected) {
      // Wrong or missing credentials: fail now with the fix instead of retrying until the deadline.
      if (isRedisAuthError(this.lastError)) {
        const error = redisAuthFailure(where, this.lastError!);
        await this.close();
        throw error;
      }
      if (Date.now() > deadline) {
        await this.close();
        throw new Error(
          `could not reach Redis at ${where} within ${this.connectTimeoutMs} ms` +
            (this.lastError ? ` (${this.lastError})` : '') +
            '; check REDIS_URL / REDIS_CLUSTER_NODES and that Redis is up',
        );
      }
      await this.evaluate(true);
      if (!this.connected) await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * PUBLISH (standalone) or SPUBLISH (cluster). Never queued: rejects at once while offline
   * (standalone) or once ioredis' few retries for a dead master are spent (cluster, about a second).
   * The outer deadline (`commandTimeoutMs`, x5 on a cluster so it does not cut those retries short)
   * only guards against a connection that hangs; a publish that hit it may still have been sent.
   */
  async publish(channel: string, message: string): Promise<void> {
    if (this.sharded) {
      await withTimeout(
        (this.commands as Cluster).spublish(channel, message),
        this.commandTimeoutMs * 5,
        'spublish',
      );
    } else {
      await withTimeout((this.commands as Redis).publish(channel, message), this.commandTimeoutMs, 'publish');
    }
  }

  /**
   * SUBSCRIBE (standalone) or SSUBSCRIBE (cluster). Resolves when Redis confirmed. On rejection
   * (offline, timeout) the subscription is still wanted: it is applied once the connection is back,
   * and `unsubscribe` cancels it.
   */
  async subscribe(channel: string): Promise<void> {
    const sent = this.sharded
      ? (this.subscriber as Cluster).ssubscribe(channel)
      : (this.subscriber as Redis).subscribe(channel);
    await withTimeout(sent, this.commandTimeoutMs, 'subscribe');
  }

  /** UNSUBSCRIBE / SUNSUBSCRIBE; like `subscribe`, the intent survives a rejection. */
  async unsubscribe(channel: string): Promise<void> {
    const sent = this.sharded
      ? (this.subscriber as Cluster).sunsubscribe(channel)
      : (this.subscriber as Redis).unsubscribe(channel);
    await withTimeout(sent, this.commandTimeoutMs, 'unsubscribe');
  }

  onMessage(listener: (channel: string, message: string) => void): void {
    this.messageListeners.push(listener);
  }

  /** Told `false` when the connection is lost and `true` when it is back (and on the first connect). */
  onConnectionChange(listener: (connected: boolean) => void): void {
    this.changeListeners.push(listener);
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Closes both connections (QUIT, then a hard disconnect if Redis does not answer). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.healthTimer);
    this.connected = false;
    await Promise.all(
      [this.commands, this.subscriber].map(async (client) => {
        if (client.status === 'wait' || client.status === 'end') {
          client.disconnect();
          return;
        }
        await withTimeout(client.quit(), 1000, 'quit').catch(() => client.disconnect());
      }),
    );
  }

  private deliver(channel: string, message: string): void {
    for (const l of this.messageListeners) {
      try {
        l(channel, message);
      } catch (err) {
        this.opts.logger?.error({ err: (err as Error).message, channel }, 'redis message listener failed');
      }
    }
  }

  /**
   * Recomputes `connected`. Client events only ever lower it (`probe` false); raising it takes a
   * successful probe, so a cluster with one dead master is not reported healthy in between.
   */
  private async evaluate(probe: boolean): Promise<void> {
    if (this.closed) return;
    const ready = () => this.commands.status === 'ready' && this.subscriber.status === 'ready';
    if (!ready() || !probe) {
      if (!ready()) this.setConnected(false);
      return;
    }
    if (this.probing) return;
    this.probing = true;
    try {
      const ok = await this.probe();
      this.setConnected(ok && ready());
    } finally {
      this.probing = false;
    }
  }

  private setConnected(ok: boolean): void {
    if (this.closed || ok === this.connected) return;
    this.connected = ok;
    const log = this.opts.logger;
    if (ok) {
      if (this.everConnected) log?.info({ redis: this.opts.name }, 'redis connection restored');
      this.everConnected = true;
    } else {
      log?.warn({ redis: this.opts.name, err: this.lastError }, 'redis connection lost');
    }
    for (const l of this.changeListeners) {
      try {
        l(ok);
      } catch (err) {
        log?.error({ err: (err as Error).message }, 'redis connection listener failed');
      }
    }
  }

  private async probe(): Promise<boolean> {
    const ping = (client: Redis | Cluster) =>
      withTimeout(client.ping(), this.commandTimeoutMs, 'ping').then(
        () => true,
        (err: Error) => {
          this.lastError = err.message;
          return false;
        },
      );
    if (!this.sharded) return ping(this.commands);
    // Every master that owns slots must answer: one dead shard means lost messages for its topics.
    const cluster = this.commands as Cluster;
    const masters = new Set<string>();
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const owner = cluster.slots[slot]?.[0];
      if (!owner) return false;
      masters.add(owner);
    }
    const byKey = new Map(cluster.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
    // ioredis drops a master that went away from its pool and only re-adds it on a slot refresh,
    // which nothing else triggers while no command targets its slots.
    if ([...masters].some((key) => !byKey.has(key))) {
      cluster.refreshSlotsCache(() => undefined);
      return false;
    }
    const results = await Promise.all([...masters].map((key) => ping(byKey.get(key)!)));
    return results.every(Boolean);
  }
}
