// Types of recovery.js (the browser/Node helper for the official phoenix client).
import type { Channel, Socket } from 'phoenix';

/** A topic position: the epoch and the offset of a message. */
export interface Position {
  epoch: string;
  offset: number;
}

/** The join reply of a join with recovery. */
export interface RecoveryResponse {
  recovered: boolean;
  epoch?: string;
  offset?: number;
  reason?: string;
}

export interface RecoverableChannelOptions {
  params?: Record<string, unknown>;
  position?: Position | null;
  onMessage?(event: string, payload: unknown, position: Position | null): void;
  onJoin?(response: RecoveryResponse): void;
  onReset?(response: RecoveryResponse): void;
}

export function parsePosition(ref: unknown): Position | null;

export function recoverableChannel(
  socket: Socket,
  topic: string,
  options?: RecoverableChannelOptions,
): { channel: Channel; position(): Position | null };

/** The reconnect delay (ms) a draining server suggests in a 1012 close, else null. */
export function reconnectHint(event: { code?: number; reason?: string } | null | undefined): number | null;

/** Makes the socket reconnect after the delay a draining server suggests (recoverableChannel calls it). */
export function honourReconnectHints(socket: Socket): void;
