// What the token verifier refuses and why (the message reaches the log), token lifetimes, claim
// bounds, every asymmetric algorithm over a real JWKS endpoint, and the shared matcher cache.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { signDevToken } from '../../src/auth/dev-token.js';
import { AUTH_PROTOCOL_PREFIX, extractToken } from '../../src/auth/token-source.js';
import { TopicMatcher, TopicMatcherCache, isValidTopicPattern } from '../../src/auth/topic-pattern.js';
import { AuthError, createTokenVerifier, type AuthErrorCode } from '../../src/auth/verifier.js';

const secret = 'unit-test-secret-that-is-long-enough-0123456789';
const key = new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with exactly these claims (no iat or exp unless given). */
function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

async function refused(p: Promise<unknown>, code: AuthErrorCode, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(err.name, 'AuthError');
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('refusals name the problem', () => {
  const verify = createTokenVerifier({ secret });

  test('a verifier needs a secret or a key set', () => {
    assert.throws(() => createTokenVerifier({}), {
      name: 'TypeError',
      message: 'createTokenVerifier needs a secret or a jwksUrl',
    });
  });

  test('missing, malformed, unsigned, expired and endless tokens', async () => {
    await refused(verify(null), 'missing_token', 'no token: pass ?token= or the bearer subprotocol');
    await refused(verify(''), 'missing_token', /no token/);
    await refused(verify('not-a-jwt'), 'invalid_token', 'token is not a JWT');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`;
    await refused(verify(unsigned), 'invalid_token', 'token algorithm none is not accepted');
    await refused(verify(await token({ sub: 'a', exp: now() - 60 })), 'expired_token', 'token has expired');
    await refused(
      verify(await token({ sub: 'a' })),
      'invalid_claims',
      'token has no "exp": tokens must expire',
    );
  });

  test('sub, join and publish claims', async () => {
    const exp = now() + 600;
    assert.equal((await verify(await token({ sub: 's'.repeat(255), exp }))).sub.length, 255);
    await refused(
      verify(await token({ sub: 's'.repeat(256), exp })),
      'invalid_claims',
      'claim "sub" must be a non-empty string of at most 255 chars',
    );
    const hundred = Array.from({ length: 100 }, (_, i) => `room:${i}`);
    assert.ok((await verify(await token({ sub: 'a', exp, join: hundred }))).join.matches('room:99'));
    const tooMany = 'claim "join" must be an array of at most 100 topic patterns ("*" only at the end)';
    await refused(
      verify(await token({ sub: 'a', exp, join: [...hundred, 'room:x'] })),
      'invalid_claims',
      tooMany,
    );
    await refused(
      verify(await token({ sub: 'a', exp, publish: ['room:*', 'ro*m'] })),
      'invalid_claims',
      'claim "publish" must be an array of at most 100 topic patterns ("*" only at the end)',
    );
  });

  test('the session ends when the token does', async () => {
    const exp = now() + 600;
    assert.equal((await verify(await token({ sub: 'a', exp }))).expiresAt, exp * 1000);
  });
});

describe('token lifetime (JWT_MAX_TOKEN_AGE_SECONDS)', () => {
  const tooLong =
    /^token lifetime is longer than 86400 s \(JWT_MAX_TOKEN_AGE_SECONDS\): issue shorter-lived tokens$/;

  test('by default a token may live 24 h, from iat', async () => {
    const verify = createTokenVerifier({ secret });
    const iat = now();
    assert.equal((await verify(await token({ sub: 'a', iat, exp: iat + 86_400 }))).sub, 'a');
    await refused(verify(await token({ sub: 'a', iat, exp: iat + 86_401 })), 'invalid_claims', tooLong);
    // Issued two days ago, valid one more hour: 49 h in all.
    await refused(
      verify(await token({ sub: 'a', iat: iat - 172_800, exp: iat + 3600 })),
      'invalid_claims',
      tooLong,
    );
  });

  test('without iat the lifetime counts from now', async () => {
    const verify = createTokenVerifier({ secret });
    assert.equal((await verify(await token({ sub: 'a', exp: now() + 3600 }))).sub, 'a');
    await refused(verify(await token({ sub: 'a', exp: now() + 172_800 })), 'invalid_claims', tooLong);
  });

  test('a configured maximum replaces the default', async () => {
    const verify = createTokenVerifier({ secret, maxTokenAgeSeconds: 60 });
    await refused(
      verify(await token({ sub: 'a', exp: now() + 120 })),
      'invalid_claims',
      /^token lifetime is longer than 60 s/,
    );
  });
});

describe('dev tokens and token sources', () => {
  test('a dev token carries the configured issuer and audience', async () => {
    const verify = createTokenVerifier({ secret, issuer: 'https://id.example', audience: 'switchboard' });
    const dev = await signDevToken(secret, 'zoe', { issuer: 'https://id.example', audience: 'switchboard' });
    assert.equal((await verify(dev)).sub, 'zoe');
  });

  test('an empty bearer subprotocol is no token', () => {
    assert.equal(extractToken(new URLSearchParams(''), `phoenix, ${AUTH_PROTOCOL_PREFIX}`), null);
  });
});

describe('topic matchers', () => {
  test('a pattern may be 255 characters long', () => {
    assert.ok(isValidTopicPattern('p'.repeat(255)));
  });

  test('a prefix pattern matches its whole prefix, not its first letter', () => {
    const m = new TopicMatcher(['room:*']);
    assert.ok(m.matches('room:1'));
    assert.ok(!m.matches('rooms'));
  });

  test('the cache shares a matcher per pattern list, is emptied when full, and never mixes lists', () => {
    const cache = new TopicMatcherCache(2);
    const a = cache.get(['room:a']);
    cache.get(['room:b']);
    assert.equal(cache.get(['room:a']), a, 'a hit while the cache holds two lists');
    cache.get(['room:c']);
    assert.notEqual(cache.get(['room:a']), a, 'the third list emptied the cache');
    assert.ok(cache.get(['room:a', 'room:b']).matches('room:a'));
    const joined = cache.get(['room:a\nroom:b']);
    assert.ok(!joined.matches('room:a'), 'one pattern with a newline is not two patterns');
    assert.ok(!cache.get(['ab', 'c']).matches('bc'));
    assert.ok(cache.get(['a', 'bc']).matches('bc'));
  });

  test('the cache keeps what it holds until it is full', () => {
    const cache = new TopicMatcherCache(3);
    const a = cache.get(['x']);
    cache.get(['y']);
    cache.get(['z']);
    assert.equal(cache.get(['x']), a);
  });
});

describe('every asymmetric algorithm, over a real key-set server', () => {
  let server: Server;
  let jwksUrl: string;
  const signers = new Map<string, CryptoKey | KeyObject>();
  const algs = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

  before(async () => {
    const keys: JWK[] = [];
    // One RSA key (a KeyObject, not bound to one hash) signs all six RS and PS algorithms.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    keys.push({ ...(await exportJWK(rsa.publicKey)), kid: 'rsa' });
    for (const alg of algs) {
      if (alg.startsWith('RS') || alg.startsWith('PS')) {
        signers.set(alg, rsa.privateKey);
        continue;
      }
      const pair = await generateKeyPair(alg, { extractable: true });
      signers.set(alg, pair.privateKey);
      keys.push({ ...(await exportJWK(pair.publicKey)), kid: alg });
    }
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const sign = (alg: string, claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid: alg.startsWith('RS') || alg.startsWith('PS') ? 'rsa' : alg })
      .sign(signers.get(alg)!);

  test('each is accepted', async () => {
    const verify = createTokenVerifier({ jwksUrl });
    for (const alg of algs)
      assert.equal((await verify(await sign(alg, { sub: alg, exp: now() + 60 }))).sub, alg);
  });

  test('the key set does not bypass the checks: issuer, exp, and no HS256 without a secret', async () => {
    const verify = createTokenVerifier({ jwksUrl, issuer: 'https://id.example' });
    await refused(
      verify(await sign('ES256', { sub: 'a', exp: now() + 60, iss: 'https://other' })),
      'invalid_token',
      /iss/,
    );
    await refused(
      verify(await sign('ES256', { sub: 'a', iss: 'https://id.example' })),
      'invalid_claims',
      'token has no "exp": tokens must expire',
    );
    await refused(
      verify(await token({ sub: 'a', exp: now() + 60 })),
      'invalid_token',
      'token algorithm HS256 is not accepted',
    );
  });
});
