/**
 * Messages between nodes for the control API (docs/api.md): they travel on the broker as
 * publications on CONTROL_TOPIC, a topic no client can join or publish to.
 */

import { RESERVED_TOPIC_PREFIX } from '../protocol/message.js';

/** The topic of control messages (reserved: refused to clients and the publish API). */
export const CONTROL_TOPIC = `${RESERVED_TOPIC_PREFIX}control`;

/** The most topics one node reports in a census answer (its busiest first); beyond it the answer says `truncated`. */
export const CENSUS_MAX_TOPICS = 5000;

export type ControlMessage =
  /** A node is alive (sent every hello interval), with its open connections; `bye` when it shuts down. */
  | { kind: 'hello'; node: string; connections?: number }
  | { kind: 'bye'; node: string }
  /** Close every connection of the user `sub`. */
  | { kind: 'disconnect'; sub: string }
  /** Take the user `sub` out of `topic` (phx_close on that channel). */
  | { kind: 'unsubscribe'; sub: string; topic: string }
  /** Asks every node for its subscriber counts: of `topic` only, or of its topics starting with `prefix`. */
  | { kind: 'census'; id: string; from: string; topic?: string; prefix?: string }
  | {
      kind: 'census-answer';
      id: string;
      to: string;
      node: string;
      counts: [string, number][];
      truncated: boolean;
    };

const isString = (v: unknown): v is string => typeof v === 'string';

/** Parses a control message received from the broker; undefined for anything malformed. */
export function parseControlMessage(text: string): ControlMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const m = v as Record<string, unknown>;
  switch (m.kind) {
    case 'hello': {
      if (!isString(m.node)) return undefined;
      const n = m.connections;
      // A count that is not a whole number is left out rather than trusted.
      return Number.isSafeInteger(n) && (n as number) >= 0
        ? { kind: 'hello', node: m.node, connections: n as number }
        : { kind: 'hello', node: m.node };
    }
    case 'bye':
      return isString(m.node) ? { kind: m.kind, node: m.node } : undefined;
    case 'disconnect':
      return isString(m.sub) ? { kind: 'disconnect', sub: m.sub } : undefined;
    case 'unsubscribe':
      return isString(m.sub) && isString(m.topic)
        ? { kind: 'unsubscribe', sub: m.sub, topic: m.topic }
        : undefined;
    case 'census':
      if (!isString(m.id) || !isString(m.from)) return undefined;
      if (m.topic !== undefined && !isString(m.topic)) return undefined;
      if (m.prefix !== undefined && !isString(m.prefix)) return undefined;
      return { kind: 'census', id: m.id, from: m.from, topic: m.topic, prefix: m.prefix };
    case 'census-answer': {
      if (!isString(m.id) || !isString(m.to) || !isString(m.node) || !Array.isArray(m.counts)) {
        return undefined;
      }
      const counts = m.counts.filter(
        (c): c is [string, number] =>
          Array.isArray(c) && c.length === 2 && isString(c[0]) && Number.isSafeInteger(c[1]) && c[1] >= 0,
      );
      if (counts.length !== m.counts.length) return undefined;
      return {
        kind: 'census-answer',
        id: m.id,
        to: m.to,
        node: m.node,
        counts,
        truncated: m.truncated === true,
      };
    }
    default:
      return undefined;
  }
}
