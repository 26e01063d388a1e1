import { randomBytes } from 'node:crypto';
import { RedisLink, type RedisLogger, type RedisTarget } from '../broker/redis-connection.js';
import { topicTag } from '../store/publication-codec.js';
import { metrics } from '../telemetry/metrics.js';
import type { PresenceDiff, PresenceMeta, PresenceState, PresenceTracker } from './presence.js';
import {
  parseDiffMessage,
  parseEntry,
  PresenceMirror,
  toPresenceState,
  type PresenceDiffMessage,
  type PresenceEntry,
} from './redis-presence-mirror.js';
import { refreshLua, sweepLua, syncLua, trackLua, untrackLua } from './redis-presence-scripts.js';

/** Options of `RedisPresence`. */
export interface RedisPresenceOptions {
  nodeId: string;
  redis: RedisTarget;
  /** A node that stops refreshing for this long is removed from every topic. Default 15000 ms. */
  ttlMs?: number;
  /** How often watched topics are swept for expired nodes. Default ttlMs / 3. */
  sweepIntervalMs?: number;
  logger?: RedisLogger;
  /** Bound on one Redis round trip. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** `start()` fails after this long without Redis. Default 10000 ms. */
  connectTimeoutMs?: number;
}

interface LocalTopic {
  /** phx_ref -> hash field and stored JSON value. */
  entries: Map<string, { field: string; value: string }>;
  /** A write failed or this node was swept: rewrite the whole set at the next refresh. */
  needsSync: boolean;
}

type ScriptArg = string | number;
/** The commands `defineCommand` adds; ioredis types do not know them. */
interface PresenceCommands {
  sbPresenceTrack(...args: ScriptArg[]): Promise<[string, number]>;
  sbPresenceUntrack(...args: ScriptArg[]): Promise<string>;
  sbPresenceRefresh(...args: ScriptArg[]): Promise<number>;
  sbPresenceSync(...args: ScriptArg[]): Promise<string>;
  sbPresenceSweep(...args: ScriptArg[]): Promise<[string, string, number, string[]?]>;
}

/** Redis keys and channel of a topic's presence; one hash tag, so one cluster slot. */
export function presenceKeys(topic: string): {
  entries: string;
  nodes: string;
  version: string;
  channel: string;
} {
  const tag = topicTag(topic);
  return {
    entries: `sb:presence:{${tag}}`,
    nodes: `sb:presence-nodes:{${tag}}`,
    version: `sb:presence-version:{${tag}}`,
    channel: `sb:presence-events:{${tag}}`,
  };
}

/**
 * Presence across nodes, kept in Redis (standalone or Cluster).
 *
 * Each topic has a hash of entries (field `<member>|<phx_ref>`) and a sorted set of the members
 * (this process: `<nodeId>:<random>`, so a restarted node never inherits its predecessor's entries)
 * with their expiry. Every ttlMs/3 a node extends its expiry on the topics where it tracks someone;
 * every node sweeps the topics it watches (and `list` sweeps first), deleting the entries of expired
 * members and publishing them as leaves. A node killed without untracking therefore disappears
 * within ttlMs plus one sweep interval.
 *
 * Joins and leaves travel on a per-topic presence channel (SPUBLISH/SSUBSCRIBE on a cluster); each
 * script changes state and publishes its numbered diff atomically. Pub/sub is at-most-once, so each
 * watched topic has a `PresenceMirror`: a missed diff (gap in the numbers, found on the next diff or
 * sweep) makes the node re-read the state and deliver what changed. If Redis loses its data, live
 * nodes notice at their next refresh and write their entries back.
 *
 * `close()` stops refreshing and disconnects without untracking: remaining entries expire after
 * ttlMs (sessions untrack as their connections close during a drain).
 */
export class RedisPresence implements PresenceTracker {
  readonly nodeId: string;
  /** This process's liveness member and diff origin. */
  readonly member: string;
  private readonly ttlMs: number;
  private readonly sweepIntervalMs: number;
  private readonly link: RedisLink;
  private readonly scripts: PresenceCommands;
  private readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  private readonly local = new Map<string, LocalTopic>();
  /** Watched topics and what their watchers have been told. */
  private readonly watched = new Map<string, PresenceMirror>();
  /** Topics with a re-read in progress (true: another one is wanted after it). */
  private readonly resyncing = new Map<string, boolean>();
  private readonly listeners: ((topic: string, diff: PresenceDiff) => void)[] = [];
  private readonly logger: RedisLogger | undefined;
  private timers: NodeJS.Timeout[] = [];
  private refreshing = false;
  private sweeping = false;
  private lastErrorLog = 0;

  constructor(opts: RedisPresenceOptions) {
    if (typeof opts.nodeId !== 'string' || opts.nodeId === '' || opts.nodeId.includes('|')) {
      throw new Error('RedisPresence: nodeId must be a non-empty string without "|" (NODE_ID)');
    }
    this.ttlMs = opts.ttlMs ?? 15_000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 300) {
      throw new Error(`RedisPresence: ttlMs must be an integer >= 300, got ${opts.ttlMs} (PRESENCE_TTL_MS)`);
    }
    this.sweepIntervalMs = opts.sweepIntervalMs ?? Math.round(this.ttlMs / 3);
    this.nodeId = opts.nodeId;
    this.member = `${opts.nodeId}:${randomBytes(4).toString('hex')}`;
    this.logger = opts.logger;
    this.link = new RedisLink({
      target: opts.redis,
      name: `sb-presence-${opts.nodeId}`,
      logger: opts.logger,
      commandTimeoutMs: opts.commandTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
    });
    this.publishCommand = this.link.sharded ? 'SPUBLISH' : 'PUBLISH';
    const client = this.link.commands;
    client.defineCommand('sbPresenceTrack', { numberOfKeys: 3, lua: trackLua });
    client.defineCommand('sbPresenceUntrack', { numberOfKeys: 3, lua: untrackLua });
    client.defineCommand('sbPresenceRefresh', { numberOfKeys: 3, lua: refreshLua });
    client.defineCommand('sbPresenceSync', { numberOfKeys: 3, lua: syncLua });
    client.defineCommand('sbPresenceSweep', { numberOfKeys: 3, lua: sweepLua });
    this.scripts = client as unknown as PresenceCommands;
    this.link.onMessage((channel, message) => {
      const msg = parseDiffMessage(message);
      if (!msg) return this.fail(new Error('undecodable presence diff'), 'decode');
      if (msg.origin !== this.member && presenceKeys(msg.topic).channel === channel) this.handle(msg);
    });
  }

  async start(): Promise<void> {
    await this.link.start();
    if (this.timers.length > 0) return;
    this.timers = [
      setInterval(() => void this.refreshAll(), Math.round(this.ttlMs / 3)),
      setInterval(() => void this.sweepAll(), this.sweepIntervalMs),
    ];
    for (const t of this.timers) t.unref();
  }

  /**
   * Tracks `meta` under `key`. If Redis fails, this rejects but the entry is kept locally and
   * written at the next refresh once Redis answers again.
   */
  async track(topic: string, key: string, meta: PresenceMeta): Promise<void> {
    const field = `${this.member}|${meta.phx_ref}`;
    const value = JSON.stringify({ key, meta } satisfies PresenceEntry);
    let local = this.local.get(topic);
    if (!local) this.local.set(topic, (local = { entries: new Map(), needsSync: false }));
    local.entries.set(meta.phx_ref, { field, value });
    try {
      const [msg, wasAlive] = await this.scripts.sbPresenceTrack(
        ...this.scriptHead(topic),
        field,
        value,
        this.member,
        this.ttlMs,
      );
      // Swept while alive (a long pause, or Redis lost its data): the other entries must be rewritten.
      if (Number(wasAlive) === 0 && local.entries.size > 1) local.needsSync = true;
      this.handleOwn(msg);
    } catch (err) {
      local.needsSync = true;
      this.fail(err, 'track');
      throw err;
    }
  }

  /** Untracks; like `track`, a failed removal is retried at the next refresh. */
  async untrack(topic: string, _key: string, phxRef: string): Promise<void> {
    const local = this.local.get(topic);
    const entry = local?.entries.get(phxRef);
    if (!local || !entry) return;
    local.entries.delete(phxRef);
    if (local.entries.size === 0 && !local.needsSync) this.local.delete(topic);
    try {
      this.handleOwn(await this.scripts.sbPresenceUntrack(...this.scriptHead(topic), entry.field));
    } catch (err) {
      local.needsSync = true;
      this.local.set(topic, local);
      this.fail(err, 'untrack');
      throw err;
    }
  }

  /** Everyone present on `topic`, on every node; expired nodes are swept first. */
  async list(topic: string): Promise<PresenceState> {
    const [msg, epoch, version, values = []] = await this.scripts.sbPresenceSweep(
      ...this.scriptHead(topic),
      '1',
    );
    this.handleOwn(msg);
    const entries = values.map(parseEntry).filter((e) => e !== undefined);
    // A fresh read is also the cheapest moment to catch this node's watchers up.
    this.deliver(topic, this.watched.get(topic)?.reset(entries, epoch, Number(version)));
    return toPresenceState(entries);
  }

  onDiff(listener: (topic: string, diff: PresenceDiff) => void): void {
    this.listeners.push(listener);
  }

  /** Starts receiving diffs of `topic`. On rejection the topic is not watched (try again later). */
  async watch(topic: string): Promise<void> {
    if (this.watched.has(topic)) return;
    const mirror = new PresenceMirror();
    this.watched.set(topic, mirror);
    const channel = presenceKeys(topic).channel;
    try {
      await this.link.subscribe(channel);
    } catch (err) {
      this.fail(err, 'watch');
      if (this.watched.get(topic) === mirror) this.watched.delete(topic);
      // The SUBSCRIBE may still sit in the offline queue: queue its undo behind it.
      this.link.unsubscribe(channel).catch(() => undefined);
      throw err;
    }
    // What the watchers know starts here (they get the state itself from list()). If this read
    // fails, the first diff or sweep finds the mirror behind and re-reads.
    try {
      const [msg, epoch, version, values = []] = await this.scripts.sbPresenceSweep(
        ...this.scriptHead(topic),
        '1',
      );
      this.handleOwn(msg);
      const entries = values.map(parseEntry).filter((e) => e !== undefined);
      if (this.watched.get(topic) === mirror) mirror.reset(entries, epoch, Number(version), true);
    } catch (err) {
      this.fail(err, 'watch');
    }
  }

  async unwatch(topic: string): Promise<void> {
    if (!this.watched.delete(topic)) return;
    await this.link.unsubscribe(presenceKeys(topic).channel).catch((err: unknown) => {
      this.fail(err, 'unwatch');
      throw err;
    });
  }

  /** True while Redis is reachable (for readiness; the tracker works on through short outages). */
  isConnected(): boolean {
    return this.link.isConnected();
  }

  /** Told when the connection to Redis is lost or regained. */
  onConnectionChange(listener: (connected: boolean) => void): void {
    this.link.onConnectionChange(listener);
  }

  /** Stops refreshing and disconnects; entries are left to expire (see the class comment). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.watched.clear();
    await this.link.close();
  }

  /** Extends this member's expiry on every topic it tracks in, re-syncing where needed. */
  private async refreshAll(): Promise<void> {
    // Not gated on isConnected(): with one cluster master down the topics on the others must stay
    // alive; refreshes for the dead master fail fast and are retried next time.
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      await Promise.all([...this.local.keys()].map((topic) => this.refresh(topic)));
    } finally {
      this.refreshing = false;
    }
  }

  private async refresh(topic: string): Promise<void> {
    const local = this.local.get(topic);
    if (!local) return;
    const k = presenceKeys(topic);
    try {
      if (!local.needsSync) {
        const alive = await this.scripts.sbPresenceRefresh(
          k.entries,
          k.nodes,
          k.version,
          this.member,
          this.ttlMs,
          this.keyTtlMs(),
        );
        if (Number(alive) === 1) return;
        this.logger?.warn({ topic }, 'presence: this node had expired on a topic; writing its entries back');
      }
      local.needsSync = false;
      const pairs = [...local.entries.values()].flatMap((e) => [e.field, e.value]);
      const msg = await this.scripts.sbPresenceSync(
        ...this.scriptHead(topic),
        this.member,
        this.ttlMs,
        ...pairs,
      );
      if (local.entries.size === 0 && !local.needsSync && this.local.get(topic) === local) {
        this.local.delete(topic);
      }
      this.handleOwn(msg);
    } catch (err) {
      local.needsSync = true;
      this.fail(err, 'refresh');
    }
  }

  /** Sweeps every watched topic; also notices diffs this node missed and re-reads those topics. */
  private async sweepAll(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await Promise.all(
        [...this.watched.keys()].map(async (topic) => {
          try {
            const [msg, epoch, version] = await this.scripts.sbPresenceSweep(...this.scriptHead(topic), '0');
            this.handleOwn(msg);
            if (this.watched.get(topic)?.isBehind(epoch, Number(version))) this.resync(topic);
          } catch (err) {
            this.fail(err, 'sweep');
          }
        }),
      );
    } finally {
      this.sweeping = false;
    }
  }

  /** Re-reads the state of a topic whose mirror missed a diff; one read at a time per topic. */
  private resync(topic: string): void {
    if (this.resyncing.has(topic)) {
      this.resyncing.set(topic, true);
      return;
    }
    this.resyncing.set(topic, false);
    this.list(topic)
      .catch((err: unknown) => this.fail(err, 'resync'))
      .finally(() => {
        const again = this.resyncing.get(topic);
        this.resyncing.delete(topic);
        if (again) this.resync(topic);
      });
  }

  /** KEYS and the common ARGV of the scripts (see redis-presence-scripts.ts). */
  private scriptHead(topic: string): ScriptArg[] {
    const k = presenceKeys(topic);
    return [
      k.entries,
      k.nodes,
      k.version,
      this.publishCommand,
      k.channel,
      JSON.stringify(this.member),
      JSON.stringify(topic),
      randomBytes(9).toString('base64url'),
      this.keyTtlMs(),
    ];
  }

  /** Keys outlive every live member's expiry; when all nodes of a topic are gone, they vanish. */
  private keyTtlMs(): number {
    return this.ttlMs * 3;
  }

  /** A diff this process's script published: it is not delivered back by Redis, so handle it here. */
  private handleOwn(message: string): void {
    if (!message) return;
    const msg = parseDiffMessage(message);
    if (msg) this.handle(msg);
  }

  private handle(msg: PresenceDiffMessage): void {
    const mirror = this.watched.get(msg.topic);
    if (!mirror) return;
    const { diff, resync } = mirror.apply(msg);
    this.deliver(msg.topic, diff);
    if (resync) this.resync(msg.topic);
  }

  private deliver(topic: string, diff: PresenceDiff | undefined): void {
    if (!diff || !this.watched.has(topic)) return;
    for (const l of this.listeners) {
      try {
        l(topic, diff);
      } catch (err) {
        this.logger?.error({ err: (err as Error).message }, 'presence: diff listener failed');
      }
    }
  }

  private fail(err: unknown, op: string): void {
    metrics.brokerErrors.inc({ op: 'presence' });
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.logger?.warn({ err: (err as Error).message, op }, 'presence: redis operation failed');
  }
}
