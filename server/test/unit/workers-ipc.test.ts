// The primary-worker message endpoint (server/src/workers/ipc.ts): replies find their request,
// failures cross with name, message and code, a closed channel fails what waits, a failing note is
// reported instead of thrown into the channel's 'message' event.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IpcClosedError, IpcEndpoint, type IpcHandler, type IpcMessage } from '../../src/workers/ipc.js';

/** Two endpoints wired to each other; messages cross asynchronously, as over a pipe. */
function pair(
  aHandlers: Map<string, IpcHandler>,
  bHandlers: Map<string, IpcHandler>,
  onNoteError?: () => void,
) {
  const box: { a?: IpcEndpoint; b?: IpcEndpoint } = {};
  const via = (to: () => IpcEndpoint) => (m: IpcMessage) => {
    const copy = structuredClone(m);
    setImmediate(() => to().receive(copy));
  };
  box.a = new IpcEndpoint(
    via(() => box.b!),
    aHandlers,
  );
  box.b = new IpcEndpoint(
    via(() => box.a!),
    bHandlers,
    onNoteError,
  );
  return { a: box.a, b: box.b };
}

test('replies go to their own request, in any order', async () => {
  const slow = new Map<string, IpcHandler>([
    ['echo', async (v, ms) => new Promise((r) => setTimeout(() => r(v), ms as number))],
  ]);
  const { a } = pair(new Map(), slow);
  const answers = await Promise.all([a.request('echo', 'first', 30), a.request('echo', 'second', 0)]);
  assert.deepEqual(answers, ['first', 'second']);
});

test('a failure crosses with its name, message and code; an unknown request is refused', async () => {
  const failing = new Map<string, IpcHandler>([
    [
      'fail',
      () => {
        throw Object.assign(new RangeError('too far'), { code: 'E_FAR' });
      },
    ],
  ]);
  const { a } = pair(new Map(), failing);
  await assert.rejects(a.request('fail'), { name: 'RangeError', message: 'too far', code: 'E_FAR' });
  await assert.rejects(a.request('nope'), /unknown worker request "nope"/);
});

test('closing fails the requests that wait and every later one', async () => {
  const never = new Map<string, IpcHandler>([['hang', () => new Promise(() => undefined)]]);
  const { a } = pair(new Map(), never);
  const waiting = a.request('hang');
  a.close();
  await assert.rejects(waiting, IpcClosedError);
  await assert.rejects(a.request('hang'), IpcClosedError);
});

test('a note whose handler throws is reported, and the channel goes on', async () => {
  const errors: string[] = [];
  let seen = 0;
  const notes = new Map<string, IpcHandler>([
    [
      'bad',
      () => {
        throw new Error('broken');
      },
    ],
    ['good', () => void seen++],
    ['ping', () => 'pong'],
  ]);
  const { a } = pair(new Map(), notes, () => errors.push('reported'));
  a.notify('bad');
  a.notify('good');
  assert.equal(await a.request('ping'), 'pong');
  assert.deepEqual(errors, ['reported']);
  assert.equal(seen, 1);
});
