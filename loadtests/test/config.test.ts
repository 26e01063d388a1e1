import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseDuration, publicConfig, readConfig } from '../lib/config.js';
import { buildOptions } from '../lib/scenario.js';
import { urlFor } from '../lib/session.js';
import { thresholds } from '../lib/thresholds.generated.js';
import { connectStorm } from '../scenarios/connect-storm.js';
import { fanout } from '../scenarios/fanout.js';
import { scenarios } from '../scenarios/index.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';

describe('configuration from the environment', () => {
  it('parses k6 durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('0s'), 0);
    for (const bad of ['', '10', 's', '10 s', '-1s', '1d']) assert.equal(parseDuration(bad), undefined, bad);
  });

  it('takes env over scenario defaults over built-in defaults', () => {
    const c = readConfig('fanout', { TOKEN: jwt, VUS: '7' }, fanout.defaults);
    assert.equal(c.vus, 7);
    assert.equal(c.rooms, 5); // fan-out default
    assert.equal(c.topicPrefix, 'room:load'); // built-in default
    assert.equal(c.publishIntervalMs, 200);
    assert.equal(c.summaryPath, 'fanout-summary.json');
    assert.deepEqual(c.tokens, [jwt]);
  });

  it('spreads the VUs of each room over several endpoints', () => {
    const c = readConfig('x', { TOKEN: jwt, URL: 'ws://a:1/socket, ws://b:2/socket', ROOMS: '2' });
    assert.deepEqual(c.urls, ['ws://a:1/socket', 'ws://b:2/socket']);
    // VUs 1 and 2 are in rooms 0 and 1 on endpoint a; VUs 3 and 4 in the same rooms on endpoint b.
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((vu) => urlFor(c, vu)),
      ['ws://a:1/socket', 'ws://a:1/socket', 'ws://b:2/socket', 'ws://b:2/socket', 'ws://a:1/socket'],
    );
    assert.throws(() => readConfig('x', { TOKEN: jwt, URL: 'ws://a:1/socket,http://b' }), /URL=/);
  });

  it('hands TOKEN and TOKENS out together, TOKEN first', () => {
    const c = readConfig('x', { TOKEN: jwt, TOKENS: `${jwt}a, ${jwt}b` });
    assert.deepEqual(c.tokens, [jwt, `${jwt}a`, `${jwt}b`]);
    assert.equal(publicConfig(c).tokens, 3);
    assert.equal(JSON.stringify(publicConfig(c)).includes(jwt), false);
  });

  it('reports every bad variable at once, each naming the fix', () => {
    try {
      readConfig('x', { URL: 'http://x', VUS: '0', DURATION: '10', TOPIC_PREFIX: 'a b', ROOMS: 'two' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const key of ['URL=', 'VUS=', 'DURATION=', 'TOPIC_PREFIX=', 'ROOMS=', 'TOKEN is missing']) {
        assert.ok(text.includes(key), `${key} not reported in:\n${text}`);
      }
      assert.equal(err.problems.length, 6);
    }
  });

  it('builds constant-vus options with the SLO thresholds of the metrics the scenario measures', () => {
    const c = readConfig('fanout', { TOKEN: jwt, VUS: '3', DURATION: '5s' }, fanout.defaults);
    const o = buildOptions(fanout, c);
    assert.deepEqual(o.scenarios, {
      fanout: { executor: 'constant-vus', vus: 3, duration: '5s', gracefulStop: '10s' },
    });
    // Every SLO threshold but the rollout scenario's continuity counts (fan-out does not count them).
    const {
      continuity_messages_lost: _lost,
      continuity_reconnect_time: _reconnect,
      ...fanoutMeasures
    } = thresholds;
    assert.deepEqual(o.thresholds, fanoutMeasures);
    assert.ok(o.summaryTrendStats.includes('p(99)'));
    const storm = buildOptions(
      connectStorm,
      readConfig('connect-storm', { TOKEN: jwt }, connectStorm.defaults),
    );
    assert.equal(storm.thresholds.phx_delivery_latency, undefined);
    assert.deepEqual(storm.thresholds.phx_join_success, thresholds.phx_join_success);
  });

  it('names five scenarios, each measuring only SLO metrics that exist', () => {
    assert.deepEqual(Object.keys(scenarios).sort(), [
      'connect-storm',
      'fanout',
      'presence-churn',
      'rollout',
      'soak',
    ]);
    for (const s of Object.values(scenarios)) {
      for (const m of s.sloMetrics) assert.ok(thresholds[m], `${s.name}: ${m} is not an SLO metric`);
    }
  });
});
