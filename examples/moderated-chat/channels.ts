// A moderated chat: Switchboard channel handlers that validate on the server, reply to pushes,
// filter per subscriber (handleOut) and leave the sender out (broadcastFrom). Load it with
// CHANNELS_MODULE=examples/moderated-chat/channels.ts, or pass `routes` and `connect` to
// createSwitchboard (docs/channels.md, "Embedding"). Its test: chat.test.ts (two nodes over Redis).
//
//   connect     a `nick` query param is required (2 to 20 letters, digits or _).
//   join        chat:<room>; `muted` (nicks you do not want to read, up to 50). Reply: {nick, moderator}.
//   say         {text}: 1 to 500 characters, else an error reply; ok replies {id}. Broadcast as
//               `said` {id, nick, text, flagged}. Text with a blocked word is flagged.
//   typing      broadcast to everyone but the sender (broadcastFrom), no reply.
//   handleOut   `said`: dropped for subscribers who muted its nick; flagged text replaced with
//               "[hidden by moderation]" except for moderators.
import { randomUUID } from 'node:crypto';
import type { ChannelHandler, ConnectHandler, Route } from '@switchboard/server';

/** JWT `sub`s that see flagged messages as written (an example: a real app reads a claim or a database). */
export const MODERATORS: ReadonlySet<string> = new Set(['moderator']);
export const BLOCKED_WORDS: readonly string[] = ['crypto', 'casino'];
export const HIDDEN = '[hidden by moderation]';
const MAX_TEXT = 500;
const MAX_MUTED = 50;
const NICK = /^\w{2,20}$/;

interface ChatAssigns {
  readonly nick: string;
  readonly moderator: boolean;
  /** Nicks this subscriber does not want to read (lower case). */
  readonly muted: ReadonlySet<string>;
}

interface Said {
  id: string;
  nick: string;
  text: string;
  flagged: boolean;
}

export const connect: ConnectHandler = ({ params }) => {
  const nick = params.nick;
  if (nick === undefined || !NICK.test(nick)) {
    return { ok: false, reason: 'a nick of 2 to 20 letters, digits or _ is required' };
  }
  return { ok: true, assigns: { nick } };
};

export const chat: ChannelHandler<ChatAssigns> = {
  intercept: ['said'],

  join({ params, principal }) {
    const nick = principal.assigns?.nick;
    if (typeof nick !== 'string') return { ok: false, reason: 'connect with a nick' };
    const muted = params.muted ?? [];
    if (!Array.isArray(muted) || muted.length > MAX_MUTED || !muted.every((m) => typeof m === 'string')) {
      return { ok: false, reason: `muted must be a list of at most ${MAX_MUTED} nicks` };
    }
    const moderator = MODERATORS.has(principal.sub);
    return {
      ok: true,
      assigns: { nick, moderator, muted: new Set(muted.map((m: string) => m.toLowerCase())) },
      presence: { key: principal.sub, meta: { nick } },
      response: { nick, moderator },
    };
  },

  handleIn({ topic, message, assigns }, actions) {
    const payload = message.binary ? undefined : (message.payload as Record<string, unknown> | null);
    switch (message.event) {
      case 'say': {
        const text = payload?.text;
        if (typeof text !== 'string' || text.trim().length === 0 || text.length > MAX_TEXT) {
          return { ok: false, reason: `text must be 1 to ${MAX_TEXT} characters` };
        }
        const lower = text.toLowerCase();
        const said: Said = {
          id: randomUUID(),
          nick: assigns.nick,
          text,
          flagged: BLOCKED_WORDS.some((w) => lower.includes(w)),
        };
        actions.broadcast(topic, { event: 'said', payload: { ...said } });
        return { ok: true, response: { id: said.id, flagged: said.flagged } };
      }
      case 'typing':
        actions.broadcastFrom(topic, { event: 'typing', payload: { nick: assigns.nick } });
        return { noReply: true };
      default:
        return { ok: false, reason: `unknown event ${message.event.slice(0, 40)}` };
    }
  },

  // Runs for every subscriber of every `said` on every node: keep it cheap. Returning `payload`
  // itself keeps the shared frame; a new object is encoded for this subscriber alone.
  handleOut({ payload, assigns }) {
    const said = payload as Said;
    if (assigns.muted.has(String(said.nick).toLowerCase())) return null;
    if (said.flagged && !assigns.moderator) return { ...said, text: HIDDEN };
    return payload;
  },
};

export const routes: Route[] = [{ pattern: 'chat:*', handler: chat }];
