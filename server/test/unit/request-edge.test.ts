// The raw request-target check and the client address behind proxies, against hostile strings.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ClientAddressResolver, parseTrustedProxies } from '../../src/transport/client-address.js';
import { HttpError } from '../../src/transport/http-util.js';
import { parseRequestTarget } from '../../src/transport/request-target.js';

describe('parseRequestTarget', () => {
  // Pieces that WHATWG URL parsing treats specially, plus ordinary ones.
  const piece = fc.constantFrom(
    '/',
    '.',
    '..',
    '\\',
    '%2e',
    '%2E',
    '%5c',
    '%5C',
    '%2f',
    'api',
    'metrics',
    'a b',
    '%',
    '?',
    '#',
    ':',
    '@',
  );
  const target = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));

  test('an accepted target means the same path to us as to a proxy: URL parsing adds or removes no segment', () => {
    fc.assert(
      fc.property(target, (raw) => {
        const result = parseRequestTarget(raw);
        if (result instanceof HttpError) {
          assert.equal(result.status, 400);
          return;
        }
        const normalised = new URL(raw, 'http://localhost').pathname;
        assert.equal(normalised.split('/').length, result.path.split('/').length, `${raw} -> ${normalised}`);
        assert.ok(!normalised.includes('//'));
      }),
      { numRuns: 2000 },
    );
  });

  test('the known escapes are refused with a reason', () => {
    for (const raw of [
      '/api/\\..\\..\\metrics',
      '/api/%2e%2e/metrics',
      '/api/.%2E/metrics',
      '/api/%5c..%5cmetrics',
      '/socket//demo/token',
      '/socket/./websocket',
      'http://localhost/metrics',
      '*',
      '',
      '/#/../metrics',
    ]) {
      const r = parseRequestTarget(raw);
      assert.ok(r instanceof HttpError && r.status === 400, raw);
    }
    const ok = parseRequestTarget('/api/topics/room%3Aa/messages?since=1');
    assert.ok(!(ok instanceof HttpError));
    assert.equal(ok.path, '/api/topics/room%3Aa/messages');
    assert.equal(ok.query.get('since'), '1');
  });
});

describe('ClientAddressResolver', () => {
  const req = (remoteAddress: string, xff?: string | string[]) =>
    ({
      socket: { remoteAddress },
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
    }) as unknown as IncomingMessage;

  test('without trusted proxies the header is ignored', () => {
    const r = new ClientAddressResolver([]);
    assert.equal(r.resolve(req('203.0.113.9', '198.51.100.1')), '203.0.113.9');
    assert.equal(r.resolve(req('::ffff:203.0.113.9')), '203.0.113.9');
  });

  test('behind trusted proxies: the right-most untrusted hop; garbage counts as the proxy', () => {
    const r = new ClientAddressResolver(['10.0.0.0/8', '192.168.1.7']);
    assert.equal(r.resolve(req('10.1.2.3', '198.51.100.1, 203.0.113.5')), '203.0.113.5');
    assert.equal(r.resolve(req('::ffff:10.1.2.3', '203.0.113.5, 192.168.1.7')), '203.0.113.5');
    assert.equal(r.resolve(req('10.1.2.3', ['198.51.100.1', '203.0.113.6'])), '203.0.113.6');
    assert.equal(r.resolve(req('10.1.2.3', '__proto__')), '10.1.2.3');
    assert.equal(r.resolve(req('10.1.2.3', '10.0.0.1, 10.0.0.2')), '10.1.2.3');
    assert.equal(r.resolve(req('10.1.2.3')), '10.1.2.3');
    assert.equal(r.resolve(req('203.0.113.9', '198.51.100.1')), '203.0.113.9', 'untrusted peer');
  });

  test('TRUSTED_PROXIES entries are checked', () => {
    const problems: string[] = [];
    assert.deepEqual(parseTrustedProxies('10.0.0.0/8, ::1, fd00::/8,', problems), [
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
    ]);
    assert.deepEqual(problems, []);
    parseTrustedProxies('10.0.0.0/33,fd00::/129,host,1.2.3.4/8/1,constructor', problems);
    assert.equal(problems.length, 5);
  });
});
