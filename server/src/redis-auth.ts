/**
 * Redis credentials, shared by every Redis client of the server (broker, presence, history sequencer):
 * the ioredis options that send them, and the start-up error when Redis refuses them.
 */

/** Credentials sent with AUTH on every connection: requirepass (`default` user) or an ACL user. */
export interface RedisAuth {
  username?: string;
  password: string;
}

/** ioredis options for `auth` (standalone options, or a Cluster's `redisOptions`). */
export function redisAuthOptions(auth: RedisAuth | undefined): { username?: string; password?: string } {
  if (!auth) return {};
  return auth.username ? { username: auth.username, password: auth.password } : { password: auth.password };
}

/** Redis refused to let this client in: no, wrong or unknown credentials. Retrying will not help. */
export function isRedisAuthError(message: string | undefined): boolean {
  return /\b(NOAUTH|WRONGPASS|NOPERM)\b|invalid password|AUTH <password> called without any password/i.test(
    message ?? '',
  );
}

/** The start-up error for a refused AUTH: what Redis said and which settings to fix. */
export function redisAuthFailure(where: string, message: string): Error {
  return new Error(
    `Redis at ${where} refused the credentials (${message.trim()}): set REDIS_PASSWORD (and REDIS_USERNAME ` +
      'for an ACL user) to what the Redis server requires (requirepass / ACL), from the switchboard-secrets Secret',
  );
}
