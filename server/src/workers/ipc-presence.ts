import {
  addMetas,
  emptyPresenceState,
  type PresenceDiff,
  type PresenceMeta,
  type PresenceState,
  type PresenceTracker,
} from '../presence/presence.js';
import type { IpcEndpoint, IpcHandler } from './ipc.js';

/**
 * A worker's presence (WORKERS>1): every call goes to the pod's one tracker in the primary, so all
 * workers see one state; the primary untracks a worker's entries when that worker exits.
 */
export class IpcPresence implements PresenceTracker {
  private readonly listeners: ((topic: string, diff: PresenceDiff) => void)[] = [];

  constructor(
    private readonly primary: IpcEndpoint,
    handlers: Map<string, IpcHandler>,
  ) {
    handlers.set('diff', (topic, diff) => {
      const d = diff as PresenceDiff;
      const copy = { joins: ownState(d.joins), leaves: ownState(d.leaves) };
      for (const l of this.listeners) l(topic as string, copy);
    });
  }

  async start(): Promise<void> {}

  track(topic: string, key: string, meta: PresenceMeta): Promise<void> {
    return this.primary.request('track', topic, key, meta);
  }

  untrack(topic: string, key: string, phxRef: string): Promise<void> {
    return this.primary.request('untrack', topic, key, phxRef);
  }

  async list(topic: string): Promise<PresenceState> {
    return ownState(await this.primary.request<PresenceState>('list', topic));
  }

  onDiff(listener: (topic: string, diff: PresenceDiff) => void): void {
    this.listeners.push(listener);
  }

  watch(topic: string): Promise<void> {
    return this.primary.request('watch', topic);
  }

  unwatch(topic: string): Promise<void> {
    return this.primary.request('unwatch', topic);
  }

  async close(): Promise<void> {}
}

/** A state copied over IPC comes back with Object.prototype: rebuilt prototype-free (keys are user ids). */
function ownState(received: PresenceState): PresenceState {
  const state = emptyPresenceState();
  for (const [key, entry] of Object.entries(received)) addMetas(state, key, entry.metas);
  return state;
}
