import type { Publication } from '../broker/broker.js';
import type { HistoryAccess, HistoryPage, RecoveryRequest, RecoveryResult } from '../store/index.js';
import type { SequencedPublication, StreamPosition } from '../store/sequencer.js';
import type { IpcEndpoint } from './ipc.js';

/** A recovery as the primary sends it: `release` is a handle to send back, not a function. */
export type RemoteRecovery = Omit<RecoveryResult, 'release'> & { releaseId: number };

/**
 * A worker's history (WORKERS>1): the pod's one sequencer and store live in the primary, so
 * offsets, the cache and the recovery budget are per pod as with one process. `deliversToNodes` is
 * true: the primary hands every sequenced publication to every subscribed worker, this one
 * included, in offset order (memory sequencer) or Redis does (Redis sequencer).
 */
export class IpcHistory implements HistoryAccess {
  readonly deliversToNodes = true;

  constructor(private readonly primary: IpcEndpoint) {}

  async start(): Promise<void> {}

  async append(pub: Publication): Promise<SequencedPublication> {
    const at = await this.primary.request<StreamPosition>('append', pub);
    return { ...pub, epoch: at.epoch, offset: at.offset };
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    return this.primary.request('whenReady', timeoutMs);
  }

  position(topic: string): Promise<StreamPosition> {
    return this.primary.request('position', topic);
  }

  async recover(req: RecoveryRequest): Promise<RecoveryResult> {
    const { releaseId, ...result } = await this.primary.request<RemoteRecovery>('recover', req);
    let released = false;
    return {
      ...result,
      release: () => {
        if (released) return;
        released = true;
        this.primary.notify('release', releaseId);
      },
    };
  }

  readSince(topic: string, since: number, limit: number): Promise<HistoryPage> {
    return this.primary.request('readSince', topic, since, limit);
  }

  /** The primary flushes the pod's store once every worker has drained. */
  async flush(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
