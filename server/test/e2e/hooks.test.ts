// Backend hooks (docs/hooks.md) against a real backend process, judged by the official `phoenix`
// client: the backend decides joins and answers pushes (RPC), its broadcasts are rewritten or
// withheld as it says; a slow, garbage-answering, busy or down backend gives the documented error
// replies, the breaker opens and recovers; every request is signed, matches docs/hooks.schema.json
// and carries the trace of its hook span.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {
  refusedPort,
  signToken,
  startOtlpReceiver,
  startProcess,
  startSwitchboard,
  startTcpProxy,
  tempDir,
  testSecrets,
  type Managed,
  type OtlpReceiver,
  type SwitchboardProcess,
  type TcpProxy,
} from '../../../testkit/src/index.js';
import {
  collect,
  connect,
  eventually,
  join,
  next,
  push,
  type Reply,
  type Socket,
} from '../support/phoenix.js';
import { upgradeAnswer } from '../support/upgrade.js';

const SECRET = 'hook-secret-for-tests-0123456789abcdef';
const backendMain = fileURLToPath(new URL('../support/hook-backend.ts', import.meta.url));
const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../docs/hooks.schema.json', import.meta.url)), 'utf8'),
) as object;

interface Backend {
  proc: Managed;
  port: number;
  url: string;
  requests(): Promise<
    { headers: Record<string, string>; body: Record<string, unknown>; signatureOk: boolean }[]
  >;
}

async function startBackend(env: Record<string, string> = {}): Promise<Backend> {
  const proc = startProcess(process.execPath, ['--import', 'tsx', backendMain], {
    logDir: tempDir('hook-backend'),
    name: 'hook-backend',
    env: { PATH: process.env.PATH ?? '', HOOKS_SECRET: SECRET, ...env },
  });
  const port = await eventually('the backend to listen', () => {
    const m = /listening (\d+)/.exec(proc.output());
    return m ? Number(m[1]) : 0;
  });
  const url = `http://127.0.0.1:${port}/hooks`;
  const requests = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/requests`)).json()) as Awaited<
      ReturnType<Backend['requests']>
    >;
  return { proc, port, url, requests };
}

async function metric(sb: SwitchboardProcess, line: RegExp): Promise<number> {
  const text = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
  const m = new RegExp(`^${line.source} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Joins once: a refused channel is left, or the client would rejoin it (and call the hook) on its timer. */
async function attempt(s: Socket, topic: string, params: object): Promise<Reply> {
  const ch = s.channel(topic, params);
  const reply = await join(ch);
  if (reply.status !== 'ok') ch.leave();
  return reply;
}

const sockets: Socket[] = [];
async function client(sb: SwitchboardProcess, sub: string): Promise<Socket> {
  const socket = await connect(sb.socketUrl, {
    params: { token: await signToken({ sub, join: ['room:*'], publish: ['game:*'] }) },
  });
  sockets.push(socket);
  return socket;
}

describe('backend hooks with a live backend', () => {
  let backend: Backend;
  let receiver: OtlpReceiver;
  let sb: SwitchboardProcess;

  before(async () => {
    [backend, receiver] = await Promise.all([startBackend({ SLOW_MS: '1500' }), startOtlpReceiver()]);
    sb = await startSwitchboard({
      HOOKS_URL: backend.url,
      HOOKS_SECRET: SECRET,
      HOOKS_TOPICS: 'game:*',
      HOOKS_TIMEOUT_MS: '600',
      HOOKS_CONCURRENCY: '1',
      HOOKS_BREAKER_FAILURES: '1000',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await sb?.stop();
    await backend?.proc.stop();
    await receiver?.close();
  });

  test('the join hook decides: refusal with its reason, admission with its presence meta', async () => {
    const s = await client(sb, 'mod');
    assert.deepEqual(await attempt(s, 'game:1', { secret: 'guess' }), {
      status: 'error',
      response: { reason: 'wrong secret' },
    });
    const ch = s.channel('game:1', { secret: 'open sesame' });
    const state = next<Record<string, { metas: { role: string }[] }>>(ch, 'presence_state');
    assert.equal((await join(ch)).status, 'ok');
    assert.equal((await state).mod?.metas[0]?.role, 'moderator', 'the meta the backend answered');
  });

  test('the push hook answers as RPC; broadcasts are rewritten, withheld or passed as the backend says', async () => {
    const a = await client(sb, 'alice');
    const b = await client(sb, 'bob');
    const ca = a.channel('game:2', { secret: 'open sesame' });
    const cb = b.channel('game:2', { secret: 'open sesame' });
    await join(ca);
    await join(cb);
    const seenByB = collect<unknown>(cb, 'moved');
    const pings = collect<unknown>(cb, 'ping');
    assert.deepEqual(await push(ca, 'ping', {}), { status: 'ok', response: { pong: true } });
    assert.deepEqual(await push(ca, 'move', { square: 4 }), { status: 'ok', response: { accepted: 4 } });
    assert.deepEqual(await push(ca, 'move', { square: 9 }), {
      status: 'error',
      response: { reason: 'square must be 0 to 8' },
    });
    await eventually('the rewritten broadcast at bob', () => seenByB.length === 1);
    assert.deepEqual(seenByB, [{ square: 4, by: 'alice' }]);
    assert.deepEqual(pings, [], 'ping was answered, not broadcast (the move after it arrived)');
    // No reply, but the push is broadcast as it came.
    const shout = next<{ text: string }>(cb, 'shout');
    assert.equal((await push(ca, 'shout', { text: 'hey' }, 800)).status, 'timeout');
    assert.deepEqual(await shout, { text: 'hey' });
    // A backend asking to broadcast a reserved event is a backend error, not a phx_close.
    assert.deepEqual(await push(ca, 'cheat', {}), { status: 'error', response: { reason: 'backend error' } });
  });

  test('every request is signed, matches docs/hooks.schema.json and continues the hook span trace', async () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const seen = await backend.requests();
    assert.ok(seen.length >= 7, `${seen.length} requests`);
    for (const r of seen) {
      assert.equal(r.signatureOk, true);
      assert.ok(validate(r.body), `${JSON.stringify(r.body)}: ${ajv.errorsText(validate.errors)}`);
      assert.equal(r.headers['x-switchboard-hook'], r.body.hook);
    }
    const move = seen.find((r) => r.body.event === 'move');
    assert.deepEqual(move?.body.principal, { sub: 'alice' });
    const traceparent = move?.headers.traceparent ?? '';
    const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(traceparent) ?? [];
    assert.ok(traceId, `traceparent ${traceparent}`);
    const span = await eventually('the hook span at the receiver', () =>
      receiver.spans.find((s) => s.name === 'hook' && s.spanId === spanId),
    );
    assert.equal(span?.traceId, traceId);
    assert.equal(span?.attributes['switchboard.hook'], 'push');
    // Answers from the game's backend also match the schema's answer definitions.
    const { $id: _id, ...definitions } = schema as Record<string, unknown>;
    const answers = ajv.compile({ ...definitions, oneOf: [{ $ref: '#/$defs/pushAnswer' }] });
    assert.ok(
      answers({ reply: 'ok', response: { accepted: 4 }, broadcast: { event: 'moved', payload: {} } }),
    );
    assert.ok(!answers({ reply: 'ok', broadcast: { event: 'phx_close', payload: {} } }));
  });

  test('a slow backend: backend unavailable at the timeout; a second call meanwhile: backend busy', async () => {
    const s = await client(sb, 'carol');
    const [first, second] = await Promise.all([
      attempt(s, 'game:slow-1', { secret: 'open sesame' }),
      (async () => {
        // The second call starts once the first is in flight at the backend (HOOKS_CONCURRENCY=1).
        await eventually('the first call at the backend', async () =>
          (await backend.requests()).some((r) => r.body.topic === 'game:slow-1'),
        );
        return attempt(s, 'game:slow-2', { secret: 'open sesame' });
      })(),
    ]);
    // The backend allows the join after 1.5 s: "backend unavailable" shows the 600 ms timeout cut it
    // short (a server that waited would answer ok). No wall-clock bound: it could not tell more.
    assert.deepEqual(first, { status: 'error', response: { reason: 'backend unavailable' } });
    assert.deepEqual(second, { status: 'error', response: { reason: 'backend busy' } });
    assert.ok((await metric(sb, /switchboard_hook_requests_total\{hook="join",outcome="timeout"\}/)) >= 1);
    assert.ok((await metric(sb, /switchboard_hook_requests_total\{hook="join",outcome="busy"\}/)) >= 1);
  });

  test('garbage, oversized and 500 answers: backend error; the node and the connection stay up', async () => {
    const s = await client(sb, 'dave');
    for (const topic of ['game:garbage', 'game:huge', 'game:500']) {
      assert.deepEqual(
        await attempt(s, topic, { secret: 'open sesame' }),
        { status: 'error', response: { reason: 'backend error' } },
        topic,
      );
    }
    assert.ok((await metric(sb, /switchboard_hook_requests_total\{hook="join",outcome="invalid"\}/)) >= 2);
    assert.ok((await metric(sb, /switchboard_hook_requests_total\{hook="join",outcome="http_error"\}/)) >= 1);
    assert.equal((await join(s.channel('game:after', { secret: 'open sesame' }))).status, 'ok');
    assert.equal((await join(s.channel('room:unhooked', {}))).status, 'ok', 'other topics keep the relay');
  });
});

describe('backend hooks with the backend down', () => {
  let sb: SwitchboardProcess;
  let backend: Backend | undefined;
  // The backend's address for the node: down (each connection closed unanswered) until the backend
  // listens, on a port of its own, behind it. No port is released for the backend to take later.
  let proxy: TcpProxy;

  before(async () => {
    proxy = await startTcpProxy(await refusedPort());
    sb = await startSwitchboard({
      HOOKS_URL: `http://127.0.0.1:${proxy.port}/hooks`,
      HOOKS_SECRET: SECRET,
      HOOKS_TOPICS: 'game:*',
      HOOKS_EVENTS: 'join',
      HOOKS_BREAKER_FAILURES: '3',
      HOOKS_BREAKER_COOLDOWN_MS: '1500',
    });
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await sb?.stop();
    await backend?.proc.stop();
    await proxy?.close();
  });

  test('down: backend unavailable, the breaker opens after 3 failures, and closes when the backend is back', async () => {
    const s = await client(sb, 'erin');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await attempt(s, `game:down-${i}`, { secret: 'open sesame' }), {
        status: 'error',
        response: { reason: 'backend unavailable' },
      });
    }
    assert.ok(
      (await metric(sb, /switchboard_hook_requests_total\{hook="join",outcome="unavailable"\}/)) >= 3,
    );
    assert.equal(await metric(sb, /switchboard_hook_breaker_open/), 1);
    assert.deepEqual(await attempt(s, 'game:down-open', { secret: 'open sesame' }), {
      status: 'error',
      response: { reason: 'backend unavailable' },
    });
    assert.equal(
      await metric(sb, /switchboard_hook_requests_total\{hook="join",outcome="breaker_open"\}/),
      1,
    );

    backend = await startBackend();
    proxy.retarget(backend.port);
    // After the cooldown one trial goes through; it succeeds and the breaker closes.
    const ok = await eventually('a join once the breaker lets a trial through', async () => {
      const r = await attempt(s, `game:back-${Date.now()}`, { secret: 'open sesame' });
      return r.status === 'ok';
    });
    assert.ok(ok);
    assert.equal(await metric(sb, /switchboard_hook_breaker_open/), 0);
    // HOOKS_EVENTS=join: pushes are the relay's (publish claim), the backend sees none.
    const ch = s.channel('game:relay', { secret: 'open sesame' });
    await join(ch);
    const echoed = next<{ n: number }>(ch, 'note');
    assert.equal((await push(ch, 'note', { n: 1 })).status, 'ok');
    assert.deepEqual(await echoed, { n: 1 });
    assert.ok((await backend.requests()).every((r) => r.body.hook === 'join'));
  });
});

describe('connect and publish hooks', () => {
  let backend: Backend;
  let sb: SwitchboardProcess;

  before(async () => {
    backend = await startBackend({ SLOW_MS: '1500' });
    sb = await startSwitchboard({
      HOOKS_URL: backend.url,
      HOOKS_SECRET: SECRET,
      HOOKS_TOPICS: 'game:*',
      HOOKS_EVENTS: 'connect,join,push,publish',
      HOOKS_TIMEOUT_MS: '600',
    });
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await sb?.stop();
    await backend?.proc.stop();
  });

  test('the connect hook refuses with 403 and its reason, and its assigns reach the join hook', async () => {
    const url = async (sub: string, extra = '') =>
      `${sb.httpUrl}/socket/websocket?vsn=2.0.0&token=${await signToken({ sub, join: ['game:*'] })}${extra}`;
    const refused = await upgradeAnswer(await url('mallory'));
    assert.equal(refused.status, 403);
    assert.match(refused.body, /mallory is banned/);
    assert.equal((await upgradeAnswer(await url('frank', '&tier=gold'))).status, 101);
    assert.equal(
      await metric(sb, /switchboard_hook_requests_total\{hook="connect",outcome="ok"\}/),
      2,
      'one call per connection attempt',
    );

    const s = await connect(sb.socketUrl, {
      params: { token: await signToken({ sub: 'grace', join: ['game:*'] }), tier: 'gold' },
    });
    sockets.push(s);
    const ch = s.channel('game:tiers', { secret: 'open sesame' });
    const state = next<Record<string, { metas: { tier?: string }[] }>>(ch, 'presence_state');
    assert.equal((await join(ch)).status, 'ok');
    assert.equal(
      (await state).grace?.metas[0]?.tier,
      'gold',
      'connect assigns -> join hook -> presence meta',
    );
    const joinCall = (await backend.requests()).find(
      (r) => r.body.hook === 'join' && r.body.topic === 'game:tiers',
    );
    assert.deepEqual(joinCall?.body.principal, { sub: 'grace', assigns: { tier: 'gold' } });
  });

  test('the publish hook allows, rewrites and refuses API publishes on hooked topics only', async () => {
    const s = await connect(sb.socketUrl, {
      params: { token: await signToken({ sub: 'heidi', join: ['game:*', 'room:*'] }) },
    });
    sockets.push(s);
    const game = s.channel('game:news', { secret: 'open sesame' });
    const room = s.channel('room:news', {});
    await join(game);
    await join(room);
    const api = (topic: string, event: string, payload: object) =>
      fetch(`${sb.httpUrl}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic, event, payload }),
      });

    const spamSeen = collect<unknown>(game, 'spam');
    const announced = next<{ text: string }>(game, 'announcement');
    const rewritten = await api('game:news', 'announce', { text: 'doors open' });
    assert.equal(rewritten.status, 202);
    assert.deepEqual(await rewritten.json(), {
      status: 'accepted',
      topic: 'game:news',
      event: 'announcement',
    });
    assert.deepEqual(await announced, { text: 'DOORS OPEN' });

    const spam = await api('game:news', 'spam', { buy: 'now' });
    assert.equal(spam.status, 403);
    assert.match(await spam.text(), /no spam here/);

    const plain = next<{ n: number }>(game, 'score');
    assert.equal((await api('game:news', 'score', { n: 3 })).status, 202);
    assert.deepEqual(await plain, { n: 3 });
    assert.deepEqual(spamSeen, [], 'the refused publication reached nobody (the later one did)');

    const slow = await api('game:slow-news', 'score', { n: 4 });
    assert.equal(slow.status, 503, 'fails closed when the backend gives no answer in time');
    assert.match(await slow.text(), /backend unavailable/);

    const unhooked = next<{ n: number }>(room, 'spam');
    assert.equal((await api('room:news', 'spam', { n: 5 })).status, 202, 'room:* is not hooked');
    assert.deepEqual(await unhooked, { n: 5 });
    const published = (await backend.requests()).filter((r) => r.body.hook === 'publish');
    assert.deepEqual(
      published.map((r) => [r.body.topic, r.body.event]),
      [
        ['game:news', 'announce'],
        ['game:news', 'spam'],
        ['game:news', 'score'],
        ['game:slow-news', 'score'],
      ],
    );
    const schemaCheck = new Ajv2020({ strict: false });
    addFormats.default(schemaCheck);
    const validate = schemaCheck.compile(schema);
    for (const r of await backend.requests()) assert.ok(validate(r.body), JSON.stringify(r.body));
  });
});
