// The verified-token cache: a reconnect with the same token skips the signature check, and nothing
// else does (altered tokens, expired tokens, entries past their two generations, past the size).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { Principal } from '../../src/auth/principal.js';
import { TopicMatcher } from '../../src/auth/topic-pattern.js';
import { VerifiedTokens } from '../../src/auth/verified-tokens.js';
import { AuthError, createTokenVerifier } from '../../src/auth/verifier.js';

const secret = 'unit-test-secret-that-is-long-enough-0123456789';
const sign = (claims: Record<string, unknown>, exp: number | string = '1h') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));

const principal = (sub: string, expiresAt = Date.now() + 3_600_000): Principal => ({
  sub,
  join: TopicMatcher.none,
  publish: TopicMatcher.none,
  expiresAt,
});

async function refusedAs(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof AuthError && err.code === code);
}

describe('verified tokens in the verifier', () => {
  test('the same token again is answered from the cache (the very same principal)', async () => {
    const verify = createTokenVerifier({ secret });
    const token = await sign({ sub: 'u1', join: ['room:*'] });
    const first = await verify(token);
    assert.equal(await verify(token), first);
    const uncached = createTokenVerifier({ secret, cacheSize: 0 });
    assert.notEqual(await uncached(token), await uncached(token));
  });

  test('an altered token misses: a new signature, or the cached signature on other claims', async () => {
    const verify = createTokenVerifier({ secret });
    const token = await sign({ sub: 'u1', join: ['room:a'] });
    await verify(token);
    const [h, , s] = token.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ sub: 'admin', join: ['*'], exp: 9e9 })).toString(
      'base64url',
    );
    await refusedAs(verify(`${h}.${otherPayload}.${s}`), 'invalid_token');
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    await refusedAs(verify(flipped), 'invalid_token');
  });

  test('a cached token is refused once it expires', async () => {
    const verify = createTokenVerifier({ secret });
    const token = await sign({ sub: 'u1' }, Math.floor(Date.now() / 1000) + 1);
    const p = await verify(token);
    await sleep(Math.max(0, p.expiresAt - Date.now()) + 50);
    await refusedAs(verify(token), 'expired_token');
  });

  test('refusals are not remembered: the same bad token is checked and refused each time', async () => {
    const verify = createTokenVerifier({ secret });
    const noSub = await sign({ join: ['room:*'] });
    await refusedAs(verify(noSub), 'invalid_claims');
    await refusedAs(verify(noSub), 'invalid_claims');
  });
});

describe('VerifiedTokens', () => {
  test('keys are 32-byte digests, not the token, and hostile tokens hash like any other', () => {
    for (const t of ['__proto__', 'constructor', 'x'.repeat(10 << 20), '\uD800']) {
      assert.equal(VerifiedTokens.keyOf(t).length, 32);
    }
    const c = new VerifiedTokens(10);
    assert.equal(c.get(VerifiedTokens.keyOf('__proto__')), undefined);
  });

  test('never more than its size: the older generation goes first', () => {
    const c = new VerifiedTokens(4);
    for (let i = 0; i < 10; i++) {
      c.set(`k${i}`, principal(`u${i}`));
      assert.ok(c.entries <= 4, `${c.entries} entries after ${i + 1}`);
    }
    assert.equal(c.get('k9')?.sub, 'u9');
    assert.equal(c.get('k8')?.sub, 'u8');
    assert.equal(c.get('k0'), undefined);
  });

  test('an entry lives at most two generations, however often it is used', () => {
    let now = 1_000_000;
    const c = new VerifiedTokens(100, 1_000, () => now);
    c.set('a', principal('a', now + 1e9));
    for (let t = 0; t < 1_900; t += 100) {
      now += 100;
      assert.equal(c.get('a')?.sub, 'a', `at +${t + 100} ms`);
    }
    now += 200;
    assert.equal(c.get('a'), undefined);
  });

  test('after a quiet spell longer than two generations nothing old is left', () => {
    let now = 0;
    const c = new VerifiedTokens(100, 1_000, () => now);
    c.set('a', principal('a', 1e12));
    now = 2_500;
    assert.equal(c.get('a'), undefined);
    assert.equal(c.entries, 0);
  });

  test('an expired entry is not returned', () => {
    let now = 0;
    const c = new VerifiedTokens(100, 60_000, () => now);
    c.set('a', principal('a', 500));
    assert.equal(c.get('a')?.sub, 'a');
    now = 500;
    assert.equal(c.get('a'), undefined);
  });

  test('size 0 keeps nothing', () => {
    const c = new VerifiedTokens(0);
    c.set('a', principal('a'));
    assert.equal(c.get('a'), undefined);
    assert.equal(c.entries, 0);
  });
});
