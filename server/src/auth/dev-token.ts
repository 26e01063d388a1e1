import { SignJWT } from 'jose';

/** Lifetime of tokens minted by the demo endpoint. */
export const DEV_TOKEN_TTL_SECONDS = 3600;

/**
 * Mints a short-lived HS256 token that may join and publish `room:*` for `user`. Only the dev
 * demo uses it (`GET /demo/token`, disabled when NODE_ENV=production).
 */
export async function signDevToken(
  secret: string,
  user: string,
  opts: { issuer?: string; audience?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ join: ['room:*'], publish: ['room:*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(`${DEV_TOKEN_TTL_SECONDS}s`);
  if (opts.issuer) jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
