import type { ChannelAssigns, ChannelHandler } from '../channels/channel.js';
import type { HeldFrame } from './recovery-join.js';

/** One joined topic of a connection. */
export interface JoinedChannel {
  readonly topic: string;
  joinRef: string | null;
  handler: ChannelHandler;
  assigns: ChannelAssigns;
  presenceKey: string | null;
  presenceRef: string | null;
  /** Opted in to recovery: broadcasts carry their position (see recovery-join.ts). */
  positions: boolean;
  /** Live broadcasts held back until the recovered ones are sent; null when not recovering. */
  held: HeldFrame[] | null;
  /** Bytes in `held`; bound: OUTBOUND_QUEUE_MAX_BYTES (beyond it the client is a slow consumer). */
  heldBytes: number;
}

/**
 * A connection's channels by topic: none, one held inline, or a Map from the second on. Most
 * connections join one topic, and a Map's table costs about 200 bytes (issue 14, idle memory).
 */
export type JoinedChannels = JoinedChannel | Map<string, JoinedChannel> | null;

export function channelOf(channels: JoinedChannels, topic: string): JoinedChannel | undefined {
  if (channels === null) return undefined;
  if (channels instanceof Map) return channels.get(topic);
  return channels.topic === topic ? channels : undefined;
}

export function channelCount(channels: JoinedChannels): number {
  if (channels === null) return 0;
  return channels instanceof Map ? channels.size : 1;
}

/** `channels` with `ch` in its topic's place. */
export function withChannel(channels: JoinedChannels, ch: JoinedChannel): JoinedChannels {
  if (channels === null || (!(channels instanceof Map) && channels.topic === ch.topic)) return ch;
  if (channels instanceof Map) return channels.set(ch.topic, ch);
  return new Map([
    [channels.topic, channels],
    [ch.topic, ch],
  ]);
}

/** `channels` without `topic`'s channel; a Map left with one goes back to inline. */
export function withoutChannel(channels: JoinedChannels, topic: string): JoinedChannels {
  if (channels === null) return null;
  if (!(channels instanceof Map)) return channels.topic === topic ? null : channels;
  channels.delete(topic);
  if (channels.size > 1) return channels;
  const [rest] = channels.values();
  return rest ?? null;
}

/** A snapshot of the channels (callers close channels while they go through it). */
export function channelList(channels: JoinedChannels): JoinedChannel[] {
  if (channels === null) return [];
  return channels instanceof Map ? [...channels.values()] : [channels];
}
