/**
 * Requests, replies and one-way notes between the primary and its workers over the cluster IPC
 * channel (WORKERS>1). Both sides hold one `IpcEndpoint` per peer: the worker one for the primary,
 * the primary one per worker. Messages carry `sb` so they never mix with node:cluster's own.
 */

/** A call that wants an answer. */
export interface IpcRequest {
  sb: 'req';
  id: number;
  op: string;
  args: unknown[];
}

/** The answer to the request `id`: its value, or the failure's name/message/code. */
export interface IpcReply {
  sb: 'res';
  id: number;
  value?: unknown;
  error?: { name: string; message: string; code?: string };
}

/** A message that wants no answer (publications, presence diffs, state changes). */
export interface IpcNote {
  sb: 'note';
  op: string;
  args: unknown[];
}

export type IpcMessage = IpcRequest | IpcReply | IpcNote;

/** What an endpoint answers requests with; a rejection goes back as `error`. */
export type IpcHandler = (...args: unknown[]) => unknown;

/** The channel closed (the peer exited): every request still waiting is rejected with this. */
export class IpcClosedError extends Error {
  override readonly name = 'IpcClosedError';
}

function isIpcMessage(m: unknown): m is IpcMessage {
  if (typeof m !== 'object' || m === null) return false;
  const sb = (m as { sb?: unknown }).sb;
  return sb === 'req' || sb === 'res' || sb === 'note';
}

/**
 * One side of the channel. Requests wait in `pending` until answered or the channel closes; they
 * are bounded by the calls the node makes (one per join, publish, track), not by outside input.
 */
export class IpcEndpoint {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private closed = false;

  constructor(
    private readonly send: (m: IpcMessage) => void,
    private readonly handlers: ReadonlyMap<string, IpcHandler>,
    /** Told when a note's handler throws (a note has no one to answer). */
    private readonly onNoteError: (op: string, err: unknown) => void = () => undefined,
  ) {}

  /** Calls `op` on the peer; rejects with the peer's error, or IpcClosedError once the channel is gone. */
  request<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new IpcClosedError(`worker channel closed (${op})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ sb: 'req', id, op, args });
    });
  }

  /** Sends `op` without waiting for anything; dropped once the channel is gone. */
  notify(op: string, ...args: unknown[]): void {
    if (!this.closed) this.post({ sb: 'note', op, args });
  }

  /** Hands a message from the peer to its handler or waiting request; ignores anything else. */
  receive(m: unknown): void {
    if (!isIpcMessage(m)) return;
    if (m.sb === 'res') {
      const waiter = this.pending.get(m.id);
      if (!waiter) return;
      this.pending.delete(m.id);
      if (m.error) waiter.reject(Object.assign(new Error(m.error.message), m.error));
      else waiter.resolve(m.value);
      return;
    }
    const handler = this.handlers.get(m.op);
    if (m.sb === 'note') {
      try {
        handler?.(...m.args);
      } catch (err) {
        this.onNoteError(m.op, err);
      }
      return;
    }
    const id = m.id;
    new Promise((resolve) => {
      if (!handler) throw new Error(`unknown worker request ${JSON.stringify(m.op.slice(0, 40))}`);
      resolve(handler(...m.args));
    }).then(
      (value) => this.post({ sb: 'res', id, value }),
      (err: unknown) => this.post({ sb: 'res', id, error: errorOf(err) }),
    );
  }

  /** The peer is gone: waiting requests fail, later ones fail at once. */
  close(): void {
    this.closed = true;
    const err = new IpcClosedError('worker channel closed');
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
  }

  private post(m: IpcMessage): void {
    if (this.closed) return;
    try {
      this.send(m);
    } catch {
      // The channel closed under us (ERR_IPC_CHANNEL_CLOSED): the exit handler closes the endpoint.
    }
  }
}

function errorOf(err: unknown): NonNullable<IpcReply['error']> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
