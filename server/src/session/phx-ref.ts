import { randomBytes } from 'node:crypto';

// A random per-process prefix plus a counter: unique across nodes without coordination.
const prefix = `F${randomBytes(6).toString('base64url')}`;
let seq = 0;

/** A new presence `phx_ref` (identifies one tracked join, as in Phoenix). */
export function nextPhxRef(): string {
  return `${prefix}${(++seq).toString(36)}`;
}
