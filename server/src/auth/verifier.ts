import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Principal } from './principal.js';
import { TopicMatcher, isValidTopicPattern } from './topic-pattern.js';

export interface VerifierOptions {
  /** HS256 shared secret (JWT_SECRET). */
  secret?: string;
  /** URL of a JSON Web Key Set for asymmetric tokens (JWKS_URL). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export type AuthErrorCode = 'missing_token' | 'invalid_token' | 'expired_token' | 'invalid_claims';

/** Why a token was refused; the upgrade answers 401 and logs `code` (never the token). */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

export type TokenVerifier = (token: string | null) => Promise<Principal>;

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_PATTERNS = 100;

/**
 * Builds the verifier: HS256 tokens are checked against `secret`, other algorithms against the
 * JWKS (fetched and cached by jose). Issuer and audience are enforced when configured.
 */
export function createTokenVerifier(opts: VerifierOptions): TokenVerifier {
  if (!opts.secret && !opts.jwksUrl) throw new TypeError('createTokenVerifier needs a secret or a jwksUrl');
  const secret = opts.secret ? new TextEncoder().encode(opts.secret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = opts.jwksUrl
    ? createRemoteJWKSet(new URL(opts.jwksUrl))
    : undefined;
  const checks = { issuer: opts.issuer, audience: opts.audience };
  const matchers = new MatcherCache();

  return async (token) => {
    if (!token) throw new AuthError('missing_token', 'no token: pass ?token= or the bearer subprotocol');
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthError('invalid_token', 'token is not a JWT');
    }
    let payload: JWTPayload;
    try {
      if (alg === 'HS256' && secret) {
        payload = (await jwtVerify(token, secret, { ...checks, algorithms: ['HS256'] })).payload;
      } else if (alg && ASYMMETRIC.includes(alg) && jwks) {
        payload = (await jwtVerify(token, jwks, { ...checks, algorithms: ASYMMETRIC })).payload;
      } else {
        throw new AuthError('invalid_token', `token algorithm ${String(alg)} is not accepted`);
      }
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof errors.JWTExpired) throw new AuthError('expired_token', 'token has expired');
      throw new AuthError('invalid_token', err instanceof Error ? err.message : 'token verification failed');
    }
    return principalFromClaims(payload, matchers);
  };
}

function principalFromClaims(payload: JWTPayload, matchers: MatcherCache): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) {
    throw new AuthError('invalid_claims', 'claim "sub" must be a non-empty string of at most 255 chars');
  }
  return { sub, join: matchers.get(payload.join, 'join'), publish: matchers.get(payload.publish, 'publish') };
}

/** Interns matchers by their patterns: many connections carry identical claims. Bounded. */
class MatcherCache {
  private readonly cache = new Map<string, TopicMatcher>();

  get(claim: unknown, name: string): TopicMatcher {
    if (claim === undefined) return TopicMatcher.none;
    if (!Array.isArray(claim) || claim.length > MAX_PATTERNS || !claim.every(isValidTopicPattern)) {
      throw new AuthError(
        'invalid_claims',
        `claim "${name}" must be an array of at most ${MAX_PATTERNS} topic patterns ("*" only at the end)`,
      );
    }
    const key = claim.join('\n');
    let m = this.cache.get(key);
    if (!m) {
      if (this.cache.size >= 10_000) this.cache.clear();
      m = new TopicMatcher(claim);
      this.cache.set(key, m);
    }
    return m;
  }
}
