import type { Publication } from '../broker/broker.js';
import type { Backends } from '../backends.js';
import type { PresenceMeta } from '../presence/presence.js';
import type { HistoryLayer, RecoveryRequest } from '../store/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { ClientEvent } from '../webhooks/ledger.js';
import type { IpcHandler } from './ipc.js';
import type { RemoteRecovery } from './ipc-history.js';
import type { NodeBus, WorkerPort } from './node-bus.js';

/** What one worker holds in the primary, given back when it exits. */
interface WorkerHoldings {
  /** `topic\0key\0phxRef` -> the tracked entry; bounded by the worker's own tracks. */
  tracked: Map<string, [topic: string, key: string, phxRef: string]>;
  watched: Set<string>;
  /** Recovery budget reservations the worker has not released yet. */
  releases: Map<number, () => void>;
}

/**
 * The pod's backends in the primary, served to its workers (WORKERS>1): broker through the node bus,
 * one presence tracker, one history layer. Each worker's calls are answered by `handlersFor`;
 * `detach` undoes what a worker that exited left behind (presence entries, topics, reservations).
 */
export class NodeServices {
  private readonly holdings = new Map<WorkerPort, WorkerHoldings>();
  /** topic -> workers watching its presence. */
  private readonly watchers = new Map<string, Set<WorkerPort>>();
  private nextRelease = 1;

  constructor(
    private readonly backends: Backends,
    private readonly history: HistoryLayer,
    private readonly bus: NodeBus,
    private readonly logger: Logger,
  ) {
    backends.presence.onDiff((topic, diff) => {
      for (const w of this.watchers.get(topic) ?? []) w.notify('diff', topic, diff);
    });
  }

  /** The request and note handlers of one worker. */
  handlersFor(worker: WorkerPort): Map<string, IpcHandler> {
    const held: WorkerHoldings = { tracked: new Map(), watched: new Set(), releases: new Map() };
    this.holdings.set(worker, held);
    const { broker, presence, clientEvents } = this.backends;
    const history = this.history;
    const str = (v: unknown) => v as string;
    return new Map<string, IpcHandler>([
      ['brokerConnected', () => broker.isConnected()],
      ['subscribe', (topic) => this.bus.subscribe(worker, str(topic))],
      ['unsubscribe', (topic) => this.bus.unsubscribe(worker, str(topic))],
      ['publish', (pub) => this.bus.publishFrom(worker, pub as Publication)],
      ['append', (pub) => this.append(pub as Publication)],
      ['whenReady', (ms) => history.whenReady(ms as number)],
      ['position', (topic) => history.position(str(topic))],
      ['readSince', (topic, since, limit) => history.readSince(str(topic), since as number, limit as number)],
      ['recover', (req) => this.recover(held, req as RecoveryRequest)],
      ['release', (id) => this.release(held, id as number)],
      [
        'track',
        async (topic, key, meta) => {
          const m = meta as PresenceMeta;
          await presence.track(str(topic), str(key), m);
          held.tracked.set(`${str(topic)}\0${str(key)}\0${m.phx_ref}`, [str(topic), str(key), m.phx_ref]);
        },
      ],
      [
        'untrack',
        async (topic, key, ref) => {
          held.tracked.delete(`${str(topic)}\0${str(key)}\0${str(ref)}`);
          await presence.untrack(str(topic), str(key), str(ref));
        },
      ],
      ['list', (topic) => presence.list(str(topic))],
      ['watch', (topic) => this.watch(worker, held, str(topic))],
      ['unwatch', (topic) => this.unwatch(worker, held, str(topic))],
      ['clientEvent', (ev) => clientEvents?.(ev as ClientEvent)],
    ]);
  }

  /** A worker exited: its presence entries leave, its topics and reservations are given up. */
  async detach(worker: WorkerPort): Promise<void> {
    const held = this.holdings.get(worker);
    if (!held) return;
    this.holdings.delete(worker);
    for (const release of held.releases.values()) release();
    for (const topic of held.watched) await this.unwatch(worker, held, topic).catch(() => undefined);
    for (const [topic, key, ref] of held.tracked.values()) {
      await this.backends.presence.untrack(topic, key, ref).catch((err: unknown) => {
        this.logger.warn({ err, topic }, 'workers: could not untrack an exited worker');
      });
    }
    await this.bus.drop(worker);
  }

  /**
   * Sequences `pub`. The memory sequencer does not publish: the primary hands the sequenced
   * publication to every subscribed worker (its publisher too) before answering, so all workers get
   * a topic's publications in offset order. The Redis sequencer publishes; the bus relays it.
   */
  private async append(pub: Publication): Promise<{ epoch: string; offset: number }> {
    const sequenced = await this.history.append(pub);
    if (!this.history.deliversToNodes) this.bus.fanOut(sequenced);
    return { epoch: sequenced.epoch, offset: sequenced.offset };
  }

  private async recover(held: WorkerHoldings, req: RecoveryRequest): Promise<RemoteRecovery> {
    const { release, ...result } = await this.history.recover(req);
    const releaseId = this.nextRelease++;
    held.releases.set(releaseId, release);
    return { ...result, releaseId };
  }

  private release(held: WorkerHoldings, id: number): void {
    held.releases.get(id)?.();
    held.releases.delete(id);
  }

  private async watch(worker: WorkerPort, held: WorkerHoldings, topic: string): Promise<void> {
    let set = this.watchers.get(topic);
    if (!set) this.watchers.set(topic, (set = new Set()));
    set.add(worker);
    held.watched.add(topic);
    if (set.size === 1) await this.backends.presence.watch(topic);
  }

  private async unwatch(worker: WorkerPort, held: WorkerHoldings, topic: string): Promise<void> {
    held.watched.delete(topic);
    const set = this.watchers.get(topic);
    if (!set?.delete(worker) || set.size > 0) return;
    this.watchers.delete(topic);
    await this.backends.presence.unwatch(topic);
  }
}
