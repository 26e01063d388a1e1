// Token verification (HS256 and a real JWKS over HTTP), token sources, topic patterns and origins.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { signDevToken } from '../../src/auth/dev-token.js';
import { isOriginAllowed } from '../../src/auth/origin.js';
import { withAssigns } from '../../src/auth/principal.js';
import { AUTH_PROTOCOL_PREFIX, extractToken } from '../../src/auth/token-source.js';
import { TopicMatcher, isValidTopicPattern, matchTopicPattern } from '../../src/auth/topic-pattern.js';
import { AuthError, createTokenVerifier, type AuthErrorCode } from '../../src/auth/verifier.js';

/** `%HaveSameMap` (V8's hidden class check), compiled with natives syntax switched on. */
function hiddenClassProbe(): (a: unknown, b: unknown) => boolean {
  setFlagsFromString('--allow-natives-syntax');
  return new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;
}

const secret = 'unit-test-secret-that-is-long-enough-0123456789';
const key = new TextEncoder().encode(secret);

function hs256(
  claims: Record<string, unknown>,
  opts: { exp?: string; iss?: string; aud?: string; k?: Uint8Array } = {},
) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '1h');
  if (opts.iss) jwt.setIssuer(opts.iss);
  if (opts.aud) jwt.setAudience(opts.aud);
  return jwt.sign(opts.k ?? key);
}

async function refused(p: Promise<unknown>, code: AuthErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(err.code, code);
    return true;
  });
}

describe('topic patterns', () => {
  test('exact, prefix and any', () => {
    assert.ok(matchTopicPattern('room:*', 'room:lobby'));
    assert.ok(matchTopicPattern('room:*', 'room:'));
    assert.ok(!matchTopicPattern('room:*', 'rooms:x'));
    assert.ok(!matchTopicPattern('room:*', 'room'));
    assert.ok(matchTopicPattern('room:lobby', 'room:lobby'));
    assert.ok(!matchTopicPattern('room:lobby', 'room:lobby2'));
    assert.ok(matchTopicPattern('*', 'anything:at:all'));
  });

  test('a star is only valid at the end', () => {
    for (const p of ['*', 'room:*', 'room:1', 'a']) assert.ok(isValidTopicPattern(p), p);
    for (const p of ['', '*:room', 'ro*m', '**', 42, null, 'x'.repeat(256)])
      assert.ok(!isValidTopicPattern(p), String(p));
    assert.throws(() => new TopicMatcher(['ro*m']), /invalid topic pattern/);
  });

  test('a matcher combines patterns', () => {
    const m = new TopicMatcher(['room:*', 'user:42']);
    assert.ok(m.matches('room:a'));
    assert.ok(m.matches('user:42'));
    assert.ok(!m.matches('user:43'));
    assert.ok(!TopicMatcher.none.matches('room:a'));
    assert.ok(new TopicMatcher(['*']).matches('x'));
  });
});

describe('token sources', () => {
  const params = (q: string) => new URLSearchParams(q);
  test('the token connect param', () => {
    assert.equal(extractToken(params('vsn=2.0.0&token=abc'), undefined), 'abc');
    assert.equal(extractToken(params('vsn=2.0.0'), undefined), null);
    assert.equal(extractToken(params('token='), undefined), null);
  });

  test('the bearer subprotocol, as the official client encodes it (btoa without padding)', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-_';
    const b64 = Buffer.from(token).toString('base64').replace(/=/g, '');
    assert.equal(extractToken(params(''), `phoenix, ${AUTH_PROTOCOL_PREFIX}${b64}`), token);
    const b64url = Buffer.from(token).toString('base64url');
    assert.equal(extractToken(params('token=other'), `phoenix,${AUTH_PROTOCOL_PREFIX}${b64url}`), token);
    assert.equal(extractToken(params('token=q'), 'phoenix'), 'q');
  });
});

describe('origin allow-list', () => {
  test('empty list allows any; otherwise exact origins', () => {
    assert.ok(isOriginAllowed('https://evil.example', []));
    const list = ['https://app.example.com', 'http://localhost:3000'];
    assert.ok(isOriginAllowed('https://app.example.com', list));
    assert.ok(isOriginAllowed('HTTPS://APP.example.com', list));
    assert.ok(isOriginAllowed('http://localhost:3000', list));
    assert.ok(!isOriginAllowed('http://localhost:3001', list));
    assert.ok(!isOriginAllowed('https://app.example.com.evil.io', list));
    assert.ok(!isOriginAllowed('null', list));
    assert.ok(isOriginAllowed(undefined, list), 'non-browser clients send no Origin');
  });
});

describe('HS256 verification', () => {
  const verify = createTokenVerifier({ secret });

  test('valid token -> principal with compiled claims', async () => {
    const p = await verify(await hs256({ sub: 'alice', join: ['room:*'], publish: ['room:lobby'] }));
    assert.equal(p.sub, 'alice');
    assert.ok(p.join.matches('room:x'));
    assert.ok(p.publish.matches('room:lobby'));
    assert.ok(!p.publish.matches('room:x'));
    const none = await verify(await hs256({ sub: 'bob' }));
    assert.ok(!none.join.matches('room:x'), 'no claims, no topics');
  });

  test('identical claims share one matcher', async () => {
    const a = await verify(await hs256({ sub: 'a', join: ['room:*'] }));
    const b = await verify(await hs256({ sub: 'b', join: ['room:*'] }));
    assert.equal(a.join, b.join);
  });

  test('principals share one hidden class, with or without assigns (issue 14: 190 bytes each)', async () => {
    const sameMap = hiddenClassProbe();
    // V8 gave a spread's copies one class each only once the code was warm: a few dozen.
    const subs = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const ps = await Promise.all(subs.map(async (sub) => verify(await hs256({ sub, join: ['room:*'] }))));
    assert.ok(
      ps.every((p) => sameMap(p, ps[0])),
      'principals',
    );
    const withA = ps.map((p, i) => withAssigns(p, { i }));
    assert.ok(
      withA.every((p) => sameMap(p, withA[0])),
      'principals with assigns',
    );
  });

  test('refusals carry a code', async () => {
    await refused(verify(null), 'missing_token');
    await refused(verify('not-a-jwt'), 'invalid_token');
    await refused(
      verify(await hs256({ sub: 'a' }, { k: new TextEncoder().encode('another-secret-another-secret!!') })),
      'invalid_token',
    );
    await refused(verify(await hs256({ sub: 'a' }, { exp: '-1m' })), 'expired_token');
    await refused(verify(await hs256({})), 'invalid_claims');
    await refused(verify(await hs256({ sub: '' })), 'invalid_claims');
    await refused(verify(await hs256({ sub: 'a', join: 'room:*' })), 'invalid_claims');
    await refused(verify(await hs256({ sub: 'a', publish: ['ro*m'] })), 'invalid_claims');
    const [h, p] = (await hs256({ sub: 'a' })).split('.');
    await refused(verify(`${h}.${p}.`), 'invalid_token');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    await refused(verify(unsigned), 'invalid_token');
  });

  test('issuer and audience are enforced when configured', async () => {
    const strict = createTokenVerifier({ secret, issuer: 'https://id.example', audience: 'switchboard' });
    await strict(await hs256({ sub: 'a' }, { iss: 'https://id.example', aud: 'switchboard' }));
    await refused(
      strict(await hs256({ sub: 'a' }, { iss: 'https://other', aud: 'switchboard' })),
      'invalid_token',
    );
    await refused(strict(await hs256({ sub: 'a' }, { iss: 'https://id.example' })), 'invalid_token');
  });

  test('dev tokens verify and permit room:* only', async () => {
    const p = await verify(await signDevToken(secret, 'zoe'));
    assert.equal(p.sub, 'zoe');
    assert.ok(p.join.matches('room:lobby') && p.publish.matches('room:lobby'));
    assert.ok(!p.join.matches('admin:x'));
  });
});

describe('JWKS verification against a real key-set server', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let jwksHits = 0;

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const es256 = (claims: Record<string, unknown>, kid = 'k1') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setExpirationTime('5m').sign(privateKey);

  test('accepts tokens signed by a published key, refuses others', async () => {
    const verify = createTokenVerifier({ jwksUrl });
    assert.equal((await verify(await es256({ sub: 'jw', join: ['room:*'] }))).sub, 'jw');
    assert.ok(jwksHits >= 1, 'the key set was fetched over HTTP');
    await refused(verify(await es256({ sub: 'jw' }, 'unknown-kid')), 'invalid_token');
    await refused(verify(await hs256({ sub: 'a' })), 'invalid_token');
  });

  test('secret and JWKS together: each token is checked by its algorithm', async () => {
    const verify = createTokenVerifier({ jwksUrl, secret });
    assert.equal((await verify(await es256({ sub: 'asym' }))).sub, 'asym');
    assert.equal((await verify(await hs256({ sub: 'sym' }))).sub, 'sym');
  });
});
