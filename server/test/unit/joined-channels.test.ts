// A connection's channels: one held inline, a Map only from the second (issue 14, idle memory).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChannelHandler } from '../../src/channels/channel.js';
import {
  channelCount,
  channelList,
  channelOf,
  withChannel,
  withoutChannel,
  type JoinedChannel,
  type JoinedChannels,
} from '../../src/session/joined-channels.js';

const handler = { join: () => ({ ok: true }) } as unknown as ChannelHandler;

function channel(topic: string): JoinedChannel {
  return {
    topic,
    joinRef: '1',
    handler,
    assigns: {},
    presenceKey: null,
    presenceRef: null,
    positions: false,
    held: null,
    heldBytes: 0,
  };
}

test('one channel is held without a Map; the second makes one, leaving it goes back', () => {
  const a = channel('room:a');
  const b = channel('room:b');
  let chs: JoinedChannels = withChannel(null, a);
  assert.equal(chs, a, 'the one channel itself, no Map');
  assert.equal(channelOf(chs, 'room:a'), a);
  assert.equal(channelOf(chs, 'room:b'), undefined);
  assert.equal(channelCount(chs), 1);

  chs = withChannel(chs, b);
  assert.ok(chs instanceof Map);
  assert.deepEqual(channelList(chs), [a, b], 'in join order');
  assert.equal(channelCount(chs), 2);

  chs = withoutChannel(chs, 'room:a');
  assert.equal(chs, b, 'back to inline with the one left');
  assert.equal(withoutChannel(chs, 'room:x'), b, 'another topic leaves it alone');
  assert.equal(withoutChannel(chs, 'room:b'), null);
});

test('a rejoin replaces the channel of its topic, inline or in the Map', () => {
  const a = channel('room:a');
  const a2 = channel('room:a');
  assert.equal(withChannel(a, a2), a2);
  const chs = withChannel(withChannel(a, channel('room:b')), a2);
  assert.equal(channelCount(chs), 2);
  assert.equal(channelOf(chs, 'room:a'), a2);
});

test('topics are compared as strings, whatever they look like', () => {
  const proto = channel('__proto__');
  const chs = withChannel(withChannel(null, proto), channel('constructor'));
  assert.equal(channelOf(chs, '__proto__'), proto);
  assert.equal(channelOf(chs, 'toString'), undefined);
});
