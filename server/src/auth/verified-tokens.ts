import { createHash } from 'node:crypto';
import type { Principal } from './principal.js';

/**
 * Tokens this node verified a short while ago, so a client that reconnects with the token it just
 * used (every client of a drained pod) skips the signature check, the largest single part of a
 * rejoin in a reconnect storm (docs/performance-targets.md). Envoy's jwt_authn keeps such a cache
 * too (`jwt_cache_config`).
 *
 * - Keyed by the token's SHA-256, not the token: a fixed 32 bytes per entry, and no bearer token
 *   kept in memory. Any other bytes, a re-signed or altered token included, miss and are verified.
 * - Only successes are kept; a hit still honours `exp`.
 * - Two generations: entries go into the current one, and the previous one is dropped when the
 *   current has been filled to half the size or is `generationMs` old. So at most `size` entries,
 *   and none older than two generations: with 5-minute generations a key removed from the JWKS
 *   stops being honoured within 10 minutes, the age jose's own JWKS cache already allows.
 */
export class VerifiedTokens {
  private current = new Map<string, Principal>();
  private previous = new Map<string, Principal>();
  private currentSince: number;
  private previousSince: number;

  constructor(
    private readonly size: number,
    private readonly generationMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {
    this.currentSince = this.previousSince = now();
  }

  /** The cache key of `token`. */
  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('latin1');
  }

  /** The principal `key`'s token was verified to, while that token has not expired. */
  get(key: string): Principal | undefined {
    if (this.size === 0) return undefined;
    this.age();
    const p = this.current.get(key) ?? this.previous.get(key);
    return p !== undefined && p.expiresAt > this.now() ? p : undefined;
  }

  set(key: string, principal: Principal): void {
    if (this.size === 0) return;
    this.age();
    if (this.current.size >= Math.max(1, this.size >> 1)) this.rotate();
    this.current.set(key, principal);
  }

  get entries(): number {
    return this.current.size + this.previous.size;
  }

  private age(): void {
    if (this.now() - this.currentSince >= this.generationMs) this.rotate();
    // After a quiet spell the generation just retired may itself be older than two periods.
    if (this.now() - this.previousSince >= 2 * this.generationMs) this.previous = new Map();
  }

  private rotate(): void {
    this.previous = this.current;
    this.previousSince = this.currentSince;
    this.current = new Map();
    this.currentSince = this.now();
  }
}
