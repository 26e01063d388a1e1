import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Principal } from './principal.js';
import { TopicMatcher, TopicMatcherCache, isValidTopicPattern } from './topic-pattern.js';

export interface VerifierOptions {
  /** HS256 shared secret (JWT_SECRET). */
  secret?: string;
  /** URL of a JSON Web Key Set for asymmetric tokens (JWKS_URL). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Longest lifetime (`exp` minus `iat`, or minus now without `iat`) a token may have; default 24 h. */
  maxTokenAgeSeconds?: number;
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
  // Imported once: given raw bytes, jose imports an HMAC key on every verification, a third of a
  // token's cost when thousands reconnect at once.
  const secret = opts.secret
    ? crypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(opts.secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      )
    : undefined;
  const jwks: JWTVerifyGetKey | undefined = opts.jwksUrl
    ? createRemoteJWKSet(new URL(opts.jwksUrl))
    : undefined;
  // `exp` is required: a session ends when its token does (unless refreshed), so a token must end.
  const checks = { issuer: opts.issuer, audience: opts.audience, requiredClaims: ['exp'] };
  const maxAge = opts.maxTokenAgeSeconds ?? 86_400;
  const matchers = new ClaimMatchers();

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
        payload = (await jwtVerify(token, await secret, { ...checks, algorithms: ['HS256'] })).payload;
      } else if (alg && ASYMMETRIC.includes(alg) && jwks) {
        payload = (await jwtVerify(token, jwks, { ...checks, algorithms: ASYMMETRIC })).payload;
      } else {
        throw new AuthError('invalid_token', `token algorithm ${String(alg)} is not accepted`);
      }
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof errors.JWTExpired) throw new AuthError('expired_token', 'token has expired');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'exp') {
        throw new AuthError('invalid_claims', 'token has no "exp": tokens must expire');
      }
      throw new AuthError('invalid_token', err instanceof Error ? err.message : 'token verification failed');
    }
    const exp = payload.exp!;
    const issuedAt = typeof payload.iat === 'number' ? payload.iat : Date.now() / 1000;
    if (exp - issuedAt > maxAge) {
      throw new AuthError(
        'invalid_claims',
        `token lifetime is longer than ${maxAge} s (JWT_MAX_TOKEN_AGE_SECONDS): issue shorter-lived tokens`,
      );
    }
    return principalFromClaims(payload, matchers, exp * 1000);
  };
}

// One literal, not a spread plus `expiresAt`: V8 would give every principal a hidden class of its own.
function principalFromClaims(payload: JWTPayload, matchers: ClaimMatchers, expiresAt: number): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) {
    throw new AuthError('invalid_claims', 'claim "sub" must be a non-empty string of at most 255 chars');
  }
  return {
    sub,
    join: matchers.get(payload.join, 'join'),
    publish: matchers.get(payload.publish, 'publish'),
    expiresAt,
  };
}

/** Checks a `join`/`publish` claim and returns its interned matcher; absent means no topic. */
class ClaimMatchers {
  private readonly matchers = new TopicMatcherCache();

  get(claim: unknown, name: string): TopicMatcher {
    if (claim === undefined) return TopicMatcher.none;
    if (!Array.isArray(claim) || claim.length > MAX_PATTERNS || !claim.every(isValidTopicPattern)) {
      throw new AuthError(
        'invalid_claims',
        `claim "${name}" must be an array of at most ${MAX_PATTERNS} topic patterns ("*" only at the end)`,
      );
    }
    return this.matchers.get(claim);
  }
}
