import { randomBytes } from 'node:crypto';
import { RedisLink, type RedisLogger, type RedisTarget } from '../broker/redis-connection.js';
import {
  SETTLE_BATCH,
  clientEventId,
  slotId,
  type ClientEvent,
  type Dropped,
  type OutboxEntry,
  type Slot,
  type SlotKind,
  type WebhookLedger,
} from './ledger.js';
import {
  ackLua,
  appendLua,
  deadHoldingsLua,
  dueLua,
  holdLua,
  refreshLua,
  releaseLua,
  settleLua,
} from './redis-ledger-scripts.js';

export interface RedisLedgerOptions {
  nodeId: string;
  redis: RedisTarget;
  /** WEBHOOK_VACATE_DEBOUNCE_MS. */
  debounceMs: number;
  /**
   * A node that stops refreshing for this long has its holders released, and the outbox entries it
   * had taken are taken by another node (PRESENCE_TTL_MS).
   */
  ttlMs: number;
  /** WEBHOOK_QUEUE_MAX: events the outbox holds; a transition beyond it is dropped and counted. */
  outboxMax: number;
  /** WEBHOOK_QUEUE_MAX_BYTES: the outbox's entry sizes (see redis-ledger-scripts.ts), summed in Redis. */
  outboxMaxBytes: number;
  /** Told of every event dropped because the outbox was full. */
  onDrop: (drop: Dropped) => void;
  logger?: RedisLogger;
}

type Arg = string | number;
/** XREADGROUP / XAUTOCLAIM entries: [stream id, [field, value, ...]]. */
type StreamEntry = [string, string[]];
interface LedgerCommands {
  sbWebhookHold(...args: Arg[]): Promise<number>;
  sbWebhookAppend(...args: Arg[]): Promise<number>;
  sbWebhookAck(...args: Arg[]): Promise<number>;
  sbWebhookRelease(...args: Arg[]): Promise<number>;
  sbWebhookSettle(...args: Arg[]): Promise<number>;
  sbWebhookDue(...args: Arg[]): Promise<[string[], string[]]>;
  sbWebhookRefresh(...args: Arg[]): Promise<number>;
  sbWebhookDeadHoldings(...args: Arg[]): Promise<string[]>;
}

/** One hash tag for every key: each script's keys are in one cluster slot (see the scripts' comment). */
const PREFIX = 'sb:webhooks:{sb-webhooks}';
const keys = {
  holders: (slot: string) => `${PREFIX}:holders:${slot}`,
  state: (slot: string) => `${PREFIX}:state:${slot}`,
  held: (member: string) => `${PREFIX}:held:${member}`,
  nodes: `${PREFIX}:nodes`,
  pending: `${PREFIX}:pending`,
  outbox: `${PREFIX}:outbox`,
  outboxBytes: `${PREFIX}:outbox-bytes`,
};
const GROUP = 'deliver';

/**
 * The cluster's ledger in Redis (standalone or Cluster; scripts in redis-ledger-scripts.ts). Each
 * transition and its outbox entry are written by one script, so exactly one event exists per
 * transition whichever nodes raced for it. This process is the member `<nodeId>:<random>` with an
 * expiry it refreshes every ttl/3; every node's `tick` releases what expired members held, so a
 * killed node's channels vacate and its presence keys go after the TTL plus the debounce.
 *
 * The outbox is a stream read by the consumer group `deliver`: each node reads new entries as
 * itself, re-claims (XCLAIM) the ones it is still delivering every ttl/3, and takes over
 * (XAUTOCLAIM) entries idle for longer than the TTL, which only a dead or stalled node leaves.
 */
export class RedisLedger implements WebhookLedger {
  readonly member: string;
  private readonly link: RedisLink;
  private readonly scripts: LedgerCommands;
  /** What this node holds (held entry -> slot and ref), to hold again after its member expired. */
  private readonly holdings = new Map<string, { slot: Slot; ref: string }>();
  /** Outbox entries this node took and has not finished (bounded by what the dispatcher queues). */
  private readonly taken = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RedisLedgerOptions) {
    this.member = `${opts.nodeId}:${randomBytes(4).toString('hex')}`;
    this.link = new RedisLink({
      target: opts.redis,
      name: `sb-webhooks-${opts.nodeId}`,
      logger: opts.logger,
    });
    const c = this.link.commands;
    c.defineCommand('sbWebhookHold', { numberOfKeys: 6, lua: holdLua });
    c.defineCommand('sbWebhookAppend', { numberOfKeys: 2, lua: appendLua });
    c.defineCommand('sbWebhookAck', { numberOfKeys: 2, lua: ackLua });
    c.defineCommand('sbWebhookRelease', { numberOfKeys: 6, lua: releaseLua });
    c.defineCommand('sbWebhookSettle', { numberOfKeys: 5, lua: settleLua });
    c.defineCommand('sbWebhookDue', { numberOfKeys: 2, lua: dueLua });
    c.defineCommand('sbWebhookRefresh', { numberOfKeys: 1, lua: refreshLua });
    c.defineCommand('sbWebhookDeadHoldings', { numberOfKeys: 2, lua: deadHoldingsLua });
    this.scripts = c as unknown as LedgerCommands;
  }

  async start(): Promise<void> {
    await this.link.start();
    await this.createGroup();
    this.timer = setInterval(() => void this.refresh(), Math.max(100, Math.round(this.opts.ttlMs / 3)));
    this.timer.unref();
  }

  async hold(slot: Slot, ref: string): Promise<boolean> {
    const entry = heldEntry(this.holder(slot, ref), slot);
    this.holdings.set(entry, { slot, ref });
    return this.sendHold(slot, ref, entry);
  }

  async append(client: ClientEvent): Promise<boolean> {
    const { topic, event, sub, payloadJson } = client;
    const result = await this.scripts.sbWebhookAppend(
      keys.outbox,
      keys.outboxBytes,
      clientEventId(),
      topic,
      event,
      sub,
      payloadJson,
      ...this.bounds(),
    );
    if (Number(result) === 2) this.opts.onDrop({ client });
    return Number(result) === 1;
  }

  async release(slot: Slot, ref: string): Promise<boolean> {
    const holder = this.holder(slot, ref);
    const entry = heldEntry(holder, slot);
    this.holdings.delete(entry);
    return this.sendRelease(this.member, holder, slot, entry);
  }

  async tick(): Promise<void> {
    const [due, expired] = await this.scripts.sbWebhookDue(keys.pending, keys.nodes, SETTLE_BATCH);
    for (const member of expired) {
      if (member === this.member) continue;
      const entries = await this.scripts.sbWebhookDeadHoldings(
        keys.held(member),
        keys.nodes,
        member,
        SETTLE_BATCH,
      );
      for (const entry of entries) {
        const parsed = parseHeldEntry(entry);
        if (parsed) await this.sendRelease(member, parsed.holder, parsed.slot, entry);
      }
    }
    for (const id of due) {
      const slot = parseSlotId(id);
      if (!slot) continue;
      const result = await this.scripts.sbWebhookSettle(
        keys.holders(id),
        keys.state(id),
        keys.pending,
        keys.outbox,
        keys.outboxBytes,
        id,
        this.opts.debounceMs,
        ...this.bounds(),
      );
      this.recorded(slot, false, result);
    }
  }

  async take(max: number): Promise<OutboxEntry[]> {
    if (max <= 0) return [];
    const c = this.link.commands;
    try {
      // Entries a dead node had taken: idle for longer than a live node lets its own get.
      const [, claimed] = (await c.xautoclaim(
        keys.outbox,
        GROUP,
        this.member,
        this.opts.ttlMs,
        '0-0',
        'COUNT',
        max,
      )) as [string, StreamEntry[]];
      const fresh =
        claimed.length < max
          ? ((await c.xreadgroup(
              'GROUP',
              GROUP,
              this.member,
              'COUNT',
              max - claimed.length,
              'STREAMS',
              keys.outbox,
              '>',
            )) as [string, StreamEntry[]][] | null)
          : null;
      const out: OutboxEntry[] = [];
      for (const [handle, fields] of [...claimed, ...(fresh?.[0]?.[1] ?? [])]) {
        const e = parseOutboxEntry(handle, fields);
        if (e) {
          this.taken.add(handle);
          out.push(e);
        } else await this.ack(handle);
      }
      return out;
    } catch (err) {
      // Redis lost its data (or was replaced): the group is gone with the stream.
      if (/NOGROUP/.test((err as Error).message)) await this.createGroup();
      throw err;
    }
  }

  async done(entry: OutboxEntry): Promise<void> {
    this.taken.delete(entry.handle);
    await this.ack(entry.handle);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.link.close();
  }

  private async ack(handle: string): Promise<void> {
    await this.scripts.sbWebhookAck(keys.outbox, keys.outboxBytes, handle);
  }

  /** The ARGV tail of every script that can write an event: node id, outbox bound, byte bound. */
  private bounds(): [string, number, number] {
    return [this.opts.nodeId, this.opts.outboxMax, this.opts.outboxMaxBytes];
  }

  private async createGroup(): Promise<void> {
    await this.link.commands.xgroup('CREATE', keys.outbox, GROUP, '0', 'MKSTREAM').catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
  }

  /**
   * Extends this member's expiry and keeps the outbox entries it is delivering; after an expiry (a
   * long pause, or Redis lost its data) holds everything again.
   */
  private async refresh(): Promise<void> {
    try {
      const ids = [...this.taken];
      for (let i = 0; i < ids.length; i += 500) {
        await this.link.commands.call(
          'XCLAIM',
          keys.outbox,
          GROUP,
          this.member,
          0,
          ...ids.slice(i, i + 500),
          'JUSTID',
        );
      }
      const alive = await this.scripts.sbWebhookRefresh(keys.nodes, this.member, this.opts.ttlMs);
      // Not in `nodes` before its first hold: nothing to do then.
      if (Number(alive) === 1 || this.holdings.size === 0) return;
      this.opts.logger?.warn(
        { holdings: this.holdings.size },
        'webhooks: this node had expired; holding its channels again',
      );
      for (const [entry, { slot, ref }] of this.holdings) await this.sendHold(slot, ref, entry);
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'webhooks: refresh failed');
    }
  }

  private async sendHold(slot: Slot, ref: string, entry: string): Promise<boolean> {
    const id = slotId(slot);
    const result = await this.scripts.sbWebhookHold(
      keys.holders(id),
      keys.state(id),
      keys.held(this.member),
      keys.nodes,
      keys.outbox,
      keys.outboxBytes,
      this.holder(slot, ref),
      entry,
      this.member,
      this.opts.ttlMs,
      randomBytes(9).toString('base64url'),
      id,
      ...this.bounds(),
    );
    return this.recorded(slot, true, result);
  }

  private async sendRelease(member: string, holder: string, slot: Slot, entry: string): Promise<boolean> {
    const id = slotId(slot);
    const result = await this.scripts.sbWebhookRelease(
      keys.holders(id),
      keys.state(id),
      keys.held(member),
      keys.pending,
      keys.outbox,
      keys.outboxBytes,
      holder,
      entry,
      id,
      this.opts.debounceMs,
      ...this.bounds(),
    );
    return this.recorded(slot, false, result);
  }

  /** A script's answer: 1 an event was written, 2 the outbox was full (dropped), 0 no transition. */
  private recorded(slot: Slot, up: boolean, result: number): boolean {
    if (Number(result) === 2) this.opts.onDrop({ slot, up });
    return Number(result) === 1;
  }

  /** A node holds a topic once however many local subscribers it has; a presence key once per phx_ref. */
  private holder(slot: Slot, ref: string): string {
    return slot.kind === 'occupancy' ? this.member : `${this.member}|${ref}`;
  }
}

function heldEntry(holder: string, slot: Slot): string {
  return JSON.stringify([holder, slot.kind, slot.topic, slot.key]);
}

const KINDS: readonly SlotKind[] = ['occupancy', 'member'];

function isSlotTuple(v: unknown): v is [SlotKind, string, string] {
  return (
    Array.isArray(v) &&
    v.length === 3 &&
    KINDS.includes(v[0] as SlotKind) &&
    typeof v[1] === 'string' &&
    typeof v[2] === 'string'
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseSlotId(id: string): Slot | undefined {
  const v = parseJson(id);
  return isSlotTuple(v) ? { kind: v[0], topic: v[1], key: v[2] } : undefined;
}

function parseHeldEntry(entry: string): { holder: string; slot: Slot } | undefined {
  const v = parseJson(entry);
  if (!Array.isArray(v) || typeof v[0] !== 'string') return undefined;
  const rest = v.slice(1);
  return isSlotTuple(rest)
    ? { holder: v[0], slot: { kind: rest[0], topic: rest[1], key: rest[2] } }
    : undefined;
}

/** An outbox stream entry, or undefined for one this version cannot read (it is acknowledged and dropped). */
function parseOutboxEntry(handle: string, fields: string[] | null): OutboxEntry | undefined {
  if (!fields) return undefined;
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const id = f.get('id');
  const time = Number(f.get('time'));
  if (!id || !Number.isFinite(time)) return undefined;
  const base = { handle, id, node: f.get('node') ?? '', time };
  if (f.get('kind') === 'client') {
    const [topic, event, sub, payloadJson] = ['topic', 'event', 'sub', 'payload'].map((k) => f.get(k));
    if (topic === undefined || event === undefined || sub === undefined || payloadJson === undefined)
      return undefined;
    return { ...base, client: { topic, event, sub, payloadJson } };
  }
  const slot = parseSlotId(f.get('slot') ?? '');
  return slot ? { ...base, slot, up: f.get('up') === '1' } : undefined;
}
