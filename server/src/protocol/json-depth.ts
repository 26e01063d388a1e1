/**
 * Nesting limit of JSON from clients (frame payloads, join params, API bodies). JSON.parse accepts
 * any depth, but JSON.stringify and every consumer that recurses (PostgreSQL's json parser, other
 * clients) do not: a payload 20,000 levels deep once stored broke every later recovery. The limit
 * is checked on the text, before parsing, on every path that takes JSON from outside.
 */
export const MAX_PAYLOAD_DEPTH = 64;

/**
 * True when `text` (JSON, or what claims to be) opens more than `max` arrays/objects at once.
 * One pass over the characters, strings skipped; no allocation.
 */
export function exceedsJsonDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
