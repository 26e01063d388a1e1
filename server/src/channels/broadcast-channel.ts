import type { TopicMatcher } from '../auth/topic-pattern.js';
import type {
  ChannelActions,
  ChannelAssigns,
  ChannelHandler,
  JoinRequest,
  JoinResult,
  PushRequest,
  PushResult,
} from './channel.js';

/** Largest presence meta a client may attach with the `meta` join param (JSON bytes). */
export const MAX_PRESENCE_META_BYTES = 1024;

const PUBLISHER: ChannelAssigns = Object.freeze({ canPublish: true });
const LISTENER: ChannelAssigns = Object.freeze({ canPublish: false });

/**
 * The default channel: a pub/sub room, with presence on topics `presenceTopics` matches.
 * - join: allowed when the token's `join` claim matches the topic; the user is tracked in presence
 *   under their `sub`, with the optional `meta` join param (a JSON object up to 1 KiB).
 * - push: any non-reserved event is broadcast to every subscriber (sender included) when the
 *   token's `publish` claim matches the topic; otherwise the reply is `unauthorized`.
 */
export function createBroadcastChannel(presenceTopics: TopicMatcher): ChannelHandler {
  return {
    join({ topic, params, principal }: JoinRequest): JoinResult {
      if (!principal.join.matches(topic)) return { ok: false, reason: 'unauthorized' };
      const meta = params.meta;
      if (meta !== undefined && !isSmallObject(meta)) {
        return {
          ok: false,
          reason: `meta must be a JSON object of at most ${MAX_PRESENCE_META_BYTES} bytes`,
        };
      }
      const assigns = principal.publish.matches(topic) ? PUBLISHER : LISTENER;
      if (!presenceTopics.matches(topic)) return { ok: true, assigns };
      return { ok: true, assigns, presence: { key: principal.sub, meta: meta ?? {} } };
    },

    handleIn({ topic, message, assigns }: PushRequest, actions: ChannelActions): PushResult {
      if (!assigns.canPublish) return { ok: false, reason: 'unauthorized' };
      actions.broadcast(topic, message);
      return { ok: true };
    },
  };
}

function isSmallObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  try {
    return Buffer.byteLength(JSON.stringify(v)) <= MAX_PRESENCE_META_BYTES;
  } catch {
    return false; // nested too deeply to encode
  }
}
