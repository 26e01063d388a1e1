import type { Serializer } from '../protocol/serializer.js';
import type { Subscriber } from './hub.js';

/** The subscribers of one serializer. */
export interface SubscriberGroup {
  serializer: Serializer;
  members: Set<Subscriber>;
}

/**
 * One topic's subscribers, grouped by serializer, so that fan-out runs one tight loop per group
 * with that group's frame (no per-subscriber serializer check). A group is created on its first
 * member; rooms of one serializer have one group.
 */
export class SubscriberGroups {
  /** Index: `serializer.id`. */
  readonly groups: (SubscriberGroup | undefined)[] = [];
  size = 0;

  add(sub: Subscriber): void {
    const id = sub.serializer.id;
    const group = (this.groups[id] ??= { serializer: sub.serializer, members: new Set() });
    if (group.members.has(sub)) return;
    group.members.add(sub);
    this.size++;
  }

  /** False when `sub` was not a member. */
  delete(sub: Subscriber): boolean {
    if (!this.groups[sub.serializer.id]?.members.delete(sub)) return false;
    this.size--;
    return true;
  }
}
