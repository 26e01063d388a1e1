import { serializers, type Serializer } from '../protocol/serializer.js';
import type { Subscriber } from './hub.js';

/** No members: shared, never mutated. */
const NONE: readonly Subscriber[] = Object.freeze([]);

/** The subscribers of one serializer. */
export interface SubscriberGroup {
  readonly serializer: Serializer;
  /**
   * Up to one member in an array, a Set from the second: an idle topic usually has one
   * subscriber, and a Set's table costs about 250 bytes (issue 14, idle memory). Replaced, never
   * mutated, when it changes form, so a fan-out going through it is not disturbed.
   */
  members: readonly Subscriber[] | Set<Subscriber>;
  size: number;
}

/**
 * One topic's subscribers, grouped by serializer, so that fan-out runs one tight loop per group
 * with that group's frame (no per-subscriber serializer check). A group is created on its first
 * member; rooms of one serializer have one group.
 */
export class SubscriberGroups {
  /**
   * Index: `serializer.id`. Sized up front: the first store into `[]` reserves 17 slots (about 150
   * bytes per topic, issue 14).
   */
  readonly groups: (SubscriberGroup | undefined)[] = new Array<SubscriberGroup | undefined>(
    serializers.length,
  ).fill(undefined);
  size = 0;

  add(sub: Subscriber): void {
    const id = sub.serializer.id;
    const group = (this.groups[id] ??= { serializer: sub.serializer, members: NONE, size: 0 });
    const members = group.members;
    if (members instanceof Set) {
      if (members.has(sub)) return;
      members.add(sub);
    } else if (members.length === 0) {
      group.members = [sub];
    } else {
      if (members[0] === sub) return;
      group.members = new Set([members[0]!, sub]);
    }
    group.size++;
    this.size++;
  }

  /** False when `sub` was not a member. */
  delete(sub: Subscriber): boolean {
    const group = this.groups[sub.serializer.id];
    if (group === undefined) return false;
    const members = group.members;
    if (members instanceof Set) {
      if (!members.delete(sub)) return false;
      if (members.size === 1) group.members = [...members];
    } else if (members[0] === sub) {
      group.members = NONE;
    } else {
      return false;
    }
    group.size--;
    this.size--;
    return true;
  }
}
