/**
 * What the `ws` rooms baselines read from a connection's request target `/?room=<name>&role=sub|pub`,
 * with the bounds every baseline applies: a subscriber gets its room's messages, anything a
 * connection sends goes to its room.
 */
import type { IncomingMessage } from 'node:http';

/** Longest room name accepted (bytes of the decoded name). */
export const MAX_ROOM_NAME = 200;
/** Most rooms one server holds; a connection to a new room past it is refused. */
export const MAX_ROOMS = 100_000;
/**
 * A subscriber with more than this queued (bytes) is closed as a slow consumer (4008, as
 * Switchboard's OUTBOUND_QUEUE_MAX_BYTES default), so an overload cannot grow memory without bound.
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

export interface RoomsRequest {
  room: string;
  subscriber: boolean;
}

/** The room and role of an upgrade request, or an error message naming the field. */
export function readRoomsRequest(req: IncomingMessage): RoomsRequest | string {
  const url = new URL(req.url ?? '/', 'http://baseline');
  const room = url.searchParams.get('room');
  if (!room) return 'room query parameter is required: /?room=<name>&role=sub|pub';
  if (Buffer.byteLength(room) > MAX_ROOM_NAME) return `room name longer than ${MAX_ROOM_NAME} bytes`;
  const role = url.searchParams.get('role') ?? 'sub';
  if (role !== 'sub' && role !== 'pub') return `role must be sub or pub, got ${JSON.stringify(role)}`;
  return { room, subscriber: role === 'sub' };
}

/** Members of each room, created on first use and dropped when empty. */
export class Rooms<M> {
  private readonly rooms = new Map<string, Set<M>>();

  /** Adds `member`; false when the server already holds MAX_ROOMS rooms and this is a new one. */
  join(room: string, member: M): boolean {
    let set = this.rooms.get(room);
    if (!set) {
      if (this.rooms.size >= MAX_ROOMS) return false;
      set = new Set();
      this.rooms.set(room, set);
    }
    set.add(member);
    return true;
  }

  leave(room: string, member: M): void {
    const set = this.rooms.get(room);
    if (!set) return;
    set.delete(member);
    if (set.size === 0) this.rooms.delete(room);
  }

  members(room: string): Iterable<M> {
    return this.rooms.get(room) ?? [];
  }
}

/** PORT and HOST from the environment, validated. */
export function listenAddress(): { port: number; host: string } {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be a TCP port number, e.g. PORT=4100');
  return { port, host: process.env.HOST ?? '127.0.0.1' };
}
