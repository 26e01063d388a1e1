import type { TokenVerifier } from '../auth/verifier.js';
import type { BroadcastMessage } from '../channels/channel.js';
import type { ChannelRouter } from '../channels/router.js';
import type { Limits } from '../config.js';
import type { Hub } from '../hub/hub.js';
import type { PresenceTracker } from '../presence/presence.js';
import type { HistoryAccess } from '../store/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { PresenceChurnLimiter } from './presence-churn.js';
import type { RateLimit } from './token-bucket.js';
import type { Session } from './session.js';

/** What a session needs from its node (the node implements it; tests may too). */
export interface SessionHost {
  /** This node's id: socket ids (`<nodeId>#<n>`) start with it. */
  readonly nodeId: string;
  /** Broadcasts to `topic` on every node; the connection whose socket id is `except` is left out. */
  broadcast(topic: string, message: BroadcastMessage, except?: string): void;
  /** Called after each broadcast a client push made, with the pushing user (client_event webhooks). */
  clientPushed(topic: string, message: BroadcastMessage, sub: string): void;
  readonly limits: Limits;
  /** Shared by every session (one object, not one per connection). */
  readonly rateLimit: RateLimit;
  readonly hub: Hub;
  readonly router: ChannelRouter;
  readonly presence: PresenceTracker;
  /** Presence joins per topic on this node (PRESENCE_CHURN_PER_SECOND / PRESENCE_CHURN_BURST). */
  readonly presenceChurn: PresenceChurnLimiter;
  /** Recovery for joins that opt in (`recover` join param). */
  readonly history: Pick<HistoryAccess, 'recover' | 'position'>;
  readonly logger: Logger;
  /** Verifies a token handed over on a live connection (`access_token`), as the upgrade does. */
  readonly verifyToken: TokenVerifier;
  /** Called once when the session's WebSocket has closed. */
  sessionClosed(session: Session): void;
}
