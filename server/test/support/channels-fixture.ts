// A CHANNELS_MODULE for server/test/e2e/channel-handlers.test.ts: handlers that reply with payloads,
// run asynchronously, refuse, and fail in each way a handler can.
import type { ChannelHandler } from '../../src/channels/channel.js';
import type { Route } from '../../src/channels/router.js';

const later = <T>(v: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(v), 20));

const counter: ChannelHandler = {
  async join({ params }) {
    if (params.secret !== 'let-me-in') return later({ ok: false as const, reason: 'wrong secret' });
    return later({ ok: true as const, assigns: { canPublish: true } });
  },
  async handleIn({ topic, message }, actions) {
    const by = (message.payload as { by?: unknown } | undefined)?.by;
    if (typeof by !== 'number' || !Number.isInteger(by) || by < 1 || by > 10) {
      return { ok: false, reason: 'by must be an integer from 1 to 10' };
    }
    actions.broadcast(topic, message);
    return later({ ok: true as const, response: { accepted: by } });
  },
};

const boom: ChannelHandler = {
  join({ topic }) {
    if (topic === 'boom:join') throw new Error('join exploded');
    if (topic === 'boom:join-async') return Promise.reject(new Error('join rejected'));
    return { ok: true, assigns: { canPublish: true } };
  },
  handleIn({ message }, actions) {
    if (message.event === 'whisper') {
      actions.push('whispered', { back: message.payload as unknown });
      return { noReply: true };
    }
    if (message.event === 'no_reason') return { ok: false } as unknown as { ok: false; reason: string };
    if (message.event === 'throw') throw new Error('handleIn exploded');
    if (message.event === 'reject') return Promise.reject(new Error('handleIn rejected'));
    if (message.event === 'bad_response') return { ok: true, response: { n: 1n } as Record<string, unknown> };
    return { ok: true, response: { echo: message.event } };
  },
};

export const routes: Route[] = [
  { pattern: 'counter:*', handler: counter },
  { pattern: 'boom:*', handler: boom },
];
