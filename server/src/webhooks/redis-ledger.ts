import { randomBytes } from 'node:crypto';
import { RedisLink, type RedisLogger, type RedisTarget } from '../broker/redis-connection.js';
import {
  SETTLE_BATCH,
  slotId,
  type Slot,
  type SlotKind,
  type Transition,
  type WebhookLedger,
} from './ledger.js';
import {
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
  /** A node that stops refreshing for this long has its holders released by the others (PRESENCE_TTL_MS). */
  ttlMs: number;
  logger?: RedisLogger;
}

type Arg = string | number;
type Answer = [0] | [1, string, number];
interface LedgerCommands {
  sbWebhookHold(...args: Arg[]): Promise<Answer>;
  sbWebhookRelease(...args: Arg[]): Promise<Answer>;
  sbWebhookSettle(...args: Arg[]): Promise<Answer>;
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
};

/**
 * The cluster's ledger in Redis (standalone or Cluster; scripts in redis-ledger-scripts.ts). Each
 * transition happens inside one script, so exactly one node's call reports it. This process is
 * the member `<nodeId>:<random>` with an expiry it refreshes every ttl/3; every node's `tick`
 * releases what expired members held, so a killed node's channels vacate and its presence keys go
 * after the TTL plus the debounce.
 */
export class RedisLedger implements WebhookLedger {
  readonly member: string;
  private readonly link: RedisLink;
  private readonly scripts: LedgerCommands;
  /** What this node holds (held entry -> slot and ref), to hold again after its member expired. */
  private readonly holdings = new Map<string, { slot: Slot; ref: string }>();
  private timer: NodeJS.Timeout | undefined;
  /** Transitions found by a refresh (holding again after an expiry), handed out by the next tick. */
  private found: Transition[] = [];

  constructor(private readonly opts: RedisLedgerOptions) {
    this.member = `${opts.nodeId}:${randomBytes(4).toString('hex')}`;
    this.link = new RedisLink({
      target: opts.redis,
      name: `sb-webhooks-${opts.nodeId}`,
      logger: opts.logger,
    });
    const c = this.link.commands;
    c.defineCommand('sbWebhookHold', { numberOfKeys: 4, lua: holdLua });
    c.defineCommand('sbWebhookRelease', { numberOfKeys: 4, lua: releaseLua });
    c.defineCommand('sbWebhookSettle', { numberOfKeys: 3, lua: settleLua });
    c.defineCommand('sbWebhookDue', { numberOfKeys: 2, lua: dueLua });
    c.defineCommand('sbWebhookRefresh', { numberOfKeys: 1, lua: refreshLua });
    c.defineCommand('sbWebhookDeadHoldings', { numberOfKeys: 2, lua: deadHoldingsLua });
    this.scripts = c as unknown as LedgerCommands;
  }

  async start(): Promise<void> {
    await this.link.start();
    this.timer = setInterval(() => void this.refresh(), Math.max(100, Math.round(this.opts.ttlMs / 3)));
    this.timer.unref();
  }

  async hold(slot: Slot, ref: string): Promise<Transition | null> {
    const entry = heldEntry(this.holder(slot, ref), slot);
    this.holdings.set(entry, { slot, ref });
    return this.sendHold(slot, ref, entry);
  }

  async release(slot: Slot, ref: string): Promise<Transition | null> {
    const holder = this.holder(slot, ref);
    const entry = heldEntry(holder, slot);
    this.holdings.delete(entry);
    return this.sendRelease(this.member, holder, slot, entry);
  }

  async tick(): Promise<Transition[]> {
    const out = this.found.splice(0);
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
        if (!parsed) continue;
        const t = await this.sendRelease(member, parsed.holder, parsed.slot, entry);
        if (t) out.push(t);
      }
    }
    for (const id of due) {
      const slot = parseSlotId(id);
      if (!slot) continue;
      const answer = await this.scripts.sbWebhookSettle(
        keys.holders(id),
        keys.state(id),
        keys.pending,
        id,
        this.opts.debounceMs,
      );
      const t = transition(slot, answer);
      if (t) out.push(t);
    }
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.link.close();
  }

  /** Extends this member's expiry; after an expiry (a long pause, or Redis lost its data) holds everything again. */
  private async refresh(): Promise<void> {
    try {
      const alive = await this.scripts.sbWebhookRefresh(keys.nodes, this.member, this.opts.ttlMs);
      if (Number(alive) === 1) return;
      this.opts.logger?.warn(
        { holdings: this.holdings.size },
        'webhooks: this node had expired; holding its channels again',
      );
      for (const [entry, { slot, ref }] of this.holdings) {
        const t = await this.sendHold(slot, ref, entry);
        if (t) this.found.push(t);
      }
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'webhooks: refresh failed');
    }
  }

  private async sendHold(slot: Slot, ref: string, entry: string): Promise<Transition | null> {
    const id = slotId(slot);
    const answer = await this.scripts.sbWebhookHold(
      keys.holders(id),
      keys.state(id),
      keys.held(this.member),
      keys.nodes,
      this.holder(slot, ref),
      entry,
      this.member,
      this.opts.ttlMs,
      randomBytes(9).toString('base64url'),
    );
    return transition(slot, answer);
  }

  private async sendRelease(
    member: string,
    holder: string,
    slot: Slot,
    entry: string,
  ): Promise<Transition | null> {
    const id = slotId(slot);
    const answer = await this.scripts.sbWebhookRelease(
      keys.holders(id),
      keys.state(id),
      keys.held(member),
      keys.pending,
      holder,
      entry,
      id,
      this.opts.debounceMs,
    );
    return transition(slot, answer);
  }

  /** A node holds a topic once however many local subscribers it has; a presence key once per phx_ref. */
  private holder(slot: Slot, ref: string): string {
    return slot.kind === 'occupancy' ? this.member : `${this.member}|${ref}`;
  }
}

function transition(slot: Slot, answer: Answer): Transition | null {
  if (Number(answer[0]) !== 1) return null;
  const [, epoch, n] = answer as [1, string, number];
  return { slot, up: Number(n) === 1, id: `${epoch}-${Number(n)}` };
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
