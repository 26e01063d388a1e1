import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { historyDefaults, parseHistoryConfig } from '../../src/store/config.js';
import { MemorySequencer } from '../../src/store/memory-sequencer.js';
import {
  decodePublication,
  encodePublication,
  encodeUnsequenced,
  topicChannel,
  topicKeys,
} from '../../src/store/publication-codec.js';

describe('parseHistoryConfig', () => {
  test('defaults without a database: the ring keeps HISTORY_RETENTION_COUNT', () => {
    const { config, problems } = parseHistoryConfig({});
    assert.deepEqual(problems, []);
    assert.deepEqual(config, {
      databaseUrl: undefined,
      queueMax: 10_000,
      batchSize: 500,
      flushMs: 100,
      retentionCount: 1000,
      retentionSeconds: 86_400,
      cacheSize: 1000,
      cacheTopicMaxBytes: 4 * 1024 * 1024,
      cacheMaxBytes: 64 * 1024 * 1024,
      cacheTtlMs: 86_400_000,
      recoveryMax: 1000,
      recoveryMaxBytes: 4 * 1024 * 1024,
      recoveryNodeMaxBytes: 64 * 1024 * 1024,
      migrateOnStart: true,
    });
  });

  test('with a database the hot cache defaults to 100; every variable is read', () => {
    const { config, problems } = parseHistoryConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/sb',
      HISTORY_QUEUE_MAX: '50',
      HISTORY_BATCH_SIZE: '10',
      HISTORY_FLUSH_MS: '5',
      HISTORY_RETENTION_COUNT: '7',
      HISTORY_RETENTION_SECONDS: '60',
      HISTORY_RECOVERY_MAX: '3',
      MIGRATE_ON_START: 'false',
    });
    assert.deepEqual(problems, []);
    assert.equal(config.cacheSize, historyDefaults.cacheSizeWithDatabase);
    assert.deepEqual(
      [config.databaseUrl, config.queueMax, config.batchSize, config.flushMs, config.retentionCount],
      ['postgres://u:p@db:5432/sb', 50, 10, 5, 7],
    );
    assert.deepEqual([config.cacheTtlMs, config.recoveryMax, config.migrateOnStart], [60_000, 3, false]);
    assert.equal(parseHistoryConfig({ HISTORY_CACHE_SIZE: '0' }).config.cacheSize, 0);
  });

  test('the byte budgets are read, and a node budget below the topic budget is refused', () => {
    const ok = parseHistoryConfig({ HISTORY_CACHE_TOPIC_MAX_BYTES: '1024', HISTORY_CACHE_MAX_BYTES: '4096' });
    assert.deepEqual(ok.problems, []);
    assert.deepEqual([ok.config.cacheTopicMaxBytes, ok.config.cacheMaxBytes], [1024, 4096]);
    const bad = parseHistoryConfig({
      HISTORY_CACHE_TOPIC_MAX_BYTES: '8192',
      HISTORY_CACHE_MAX_BYTES: '4096',
    });
    assert.equal(bad.problems.length, 1);
    assert.match(
      bad.problems[0]!,
      /^HISTORY_CACHE_MAX_BYTES \(4096\) is smaller than HISTORY_CACHE_TOPIC_MAX_BYTES/,
    );
  });

  test('bad values are each reported with the variable and the fix, and defaults are kept', () => {
    const { config, problems } = parseHistoryConfig({
      DATABASE_URL: 'mysql://db',
      HISTORY_QUEUE_MAX: '-1',
      HISTORY_FLUSH_MS: '1.5',
      HISTORY_RECOVERY_MAX: 'lots',
      MIGRATE_ON_START: 'maybe',
    });
    assert.equal(problems.length, 5);
    assert.match(problems[0]!, /^DATABASE_URL is not a postgres URL: set it like postgres:\/\//);
    assert.match(problems[1]!, /^HISTORY_QUEUE_MAX="-1" is invalid: set HISTORY_QUEUE_MAX to a whole number/);
    assert.match(problems[2]!, /^HISTORY_FLUSH_MS="1.5" is invalid/);
    assert.match(problems[3]!, /^HISTORY_RECOVERY_MAX="lots" is invalid/);
    assert.match(problems[4]!, /^MIGRATE_ON_START="maybe" is invalid: set it to true or false/);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.queueMax, 10_000);
  });

  test('a queue smaller than a batch is refused', () => {
    const { problems } = parseHistoryConfig({ HISTORY_QUEUE_MAX: '10', HISTORY_BATCH_SIZE: '20' });
    assert.match(problems[0]!, /HISTORY_QUEUE_MAX \(10\) is smaller than HISTORY_BATCH_SIZE \(20\)/);
  });
});

describe('publication codec', () => {
  const pub = {
    topic: 'room:1',
    event: 'msg',
    payload: { list: [], map: {}, s: 'x' },
    origin: 'n1',
    publishedAt: 1700000000123,
  };

  test('the Lua splice of encodeUnsequenced equals encodePublication of the sequenced publication', () => {
    // What the script does: '{"epoch":' .. cjson.encode(epoch) .. ',"offset":' .. offset .. ',' .. body:sub(2)
    const body = encodeUnsequenced({ ...pub, epoch: 'stale', offset: 99 });
    const spliced = `{"epoch":${JSON.stringify('E1')},"offset":7,${body.slice(1)}`;
    assert.equal(spliced, encodePublication({ epoch: 'E1', offset: 7, ...pub }));
    assert.deepEqual(decodePublication(spliced), { ...pub, epoch: 'E1', offset: 7 });
  });

  test('a payloadJson travels verbatim, as an ordinary payload to any JSON reader', () => {
    const payloadJson = '{"n":1e400, "s":"\\ud800","a":1,"a":2}';
    const { payload: _p, ...rest } = pub;
    const verbatim = { ...rest, payloadJson };
    const body = encodeUnsequenced(verbatim);
    const spliced = `{"epoch":"E1","offset":7,${body.slice(1)}`;
    assert.equal(spliced, encodePublication({ epoch: 'E1', offset: 7, ...verbatim }));
    assert.deepEqual(decodePublication(spliced), { ...verbatim, epoch: 'E1', offset: 7 });
    // A node of the previous version reads `payload` (parsed) and ignores payloadLength.
    assert.deepEqual((JSON.parse(spliced) as { payload: unknown }).payload, {
      n: Infinity,
      s: '\ud800',
      a: 2,
    });
    const tampered = spliced.replace('"payloadLength":', '"payloadLength":1');
    assert.throws(() => decodePublication(tampered), /payloadLength/);
  });

  test('decode rejects what is not a publication, naming the field', () => {
    assert.throws(() => decodePublication('nope'), /publication is not JSON/);
    assert.throws(() => decodePublication('[1]'), /not a JSON object/);
    assert.throws(
      () => decodePublication(JSON.stringify({ ...pub, topic: 1 })),
      /field "topic" must be a string/,
    );
    assert.throws(
      () => decodePublication(JSON.stringify({ ...pub, offset: 1.5 })),
      /field "offset" must be an integer/,
    );
  });

  test('channel and keys of a topic share one hash tag, whatever braces the topic holds', () => {
    for (const topic of ['room:a', 'a}b', '{x}', '}', '%7D', 'a%b{', '']) {
      const tags = [topicChannel(topic), ...Object.values(topicKeys(topic))].map(
        (k) => /\{([^}]*)\}/.exec(k)?.[1],
      );
      assert.equal(new Set(tags).size, 1, topic);
      assert.ok(tags[0], `empty hash tag for ${topic}`);
    }
    assert.equal(topicChannel('room:lobby'), 'sb:{room:lobby}');
    // Escaping is injective: distinct topics never share a channel.
    assert.notEqual(topicChannel('a}'), topicChannel('a%7D'));
  });
});

describe('MemorySequencer bounds', () => {
  test('the ring drops entries older than cacheTtlMs and beyond cacheSize', async () => {
    let now = 1_000_000;
    const seq = new MemorySequencer({ cacheSize: 3, cacheTtlMs: 1000, now: () => now });
    const a = await seq.append({ ...base, topic: 't' });
    now += 600;
    await seq.append({ ...base, topic: 't' });
    now += 600;
    assert.deepEqual(
      (await seq.readRecent('t', a.epoch, 0)).map((p) => p.offset),
      [2],
    );
    for (let i = 0; i < 5; i++) await seq.append({ ...base, topic: 't' });
    assert.deepEqual(
      (await seq.readRecent('t', a.epoch, 0)).map((p) => p.offset),
      [5, 6, 7],
    );
  });

  test('cacheMaxBytes bounds the rings of all topics together, evicting the oldest of any topic', async () => {
    const seq = new MemorySequencer({ cacheSize: 100, cacheTtlMs: 60_000, cacheMaxBytes: 10 * 1024 });
    const pad = 'p'.repeat(1000);
    const epochs = new Map<string, string>();
    // 15 topics x 4 publications of ~1.1 KiB = ~66 KiB through a 10 KiB budget.
    for (let round = 0; round < 4; round++) {
      for (let t = 0; t < 15; t++)
        epochs.set(`t${t}`, (await seq.append({ ...base, topic: `t${t}`, payload: pad })).epoch);
    }
    assert.ok(seq.cachedBytes <= 10 * 1024, `cached ${seq.cachedBytes} bytes`);
    const kept: string[] = [];
    for (const [topic, epoch] of epochs) {
      for (const p of await seq.readRecent(topic, epoch, 0)) kept.push(`${topic}#${p.offset}`);
    }
    // What is left is the newest publications: the last round's, newest topics first.
    assert.ok(kept.length >= 8 && kept.length <= 9, kept.join(' '));
    assert.ok(
      kept.every((k) => k.endsWith('#4')),
      kept.join(' '),
    );
    assert.ok(kept.includes('t14#4'));
  });

  test('a topic idle longer than sequenceTtlMs is forgotten and gets a new epoch', async () => {
    let now = 0;
    const seq = new MemorySequencer({
      cacheSize: 3,
      cacheTtlMs: 1000,
      sequenceTtlMs: 10_000,
      now: () => now,
    });
    const a = await seq.append({ ...base, topic: 't' });
    now += 9_000;
    assert.deepEqual(await seq.position('t'), { epoch: a.epoch, offset: 1 });
    now += 10_001;
    const b = await seq.append({ ...base, topic: 't' });
    assert.notEqual(b.epoch, a.epoch);
    assert.equal(b.offset, 1);
  });
});

const base = { event: 'e', payload: null, origin: 'n', publishedAt: 0 };
