/**
 * Rollout: continuity while pods are replaced. Every VU holds one join with recovery for the whole
 * DURATION; when the server closes its socket (a drain's 1012, a crash, anything) it reconnects --
 * after the close's suggested `reconnect_after_ms` (HONOUR_HINT=true) or the official client's first
 * retry, 10 ms -- and rejoins with the position of the last message it saw. The first VU of each room
 * publishes numbered messages (n = 1, 2, 3, ...) every PUBLISH_INTERVAL until DRAIN before the end;
 * every VU counts what it got (lib/continuity.ts): lost, duplicated, reordered, and the time from
 * the close to the rejoin. Meant to run while the deploy syncs (docs/loadtests.md#rollout).
 */
import { parsePosition, reconnectHint } from '../../server/public/recovery.js';
import { ContinuityTracker, phoenixReconnectAfterMs, type StreamPosition } from '../lib/continuity.js';
import { sleep, type TimerHandle } from '../lib/engine.js';
import { createProtocolMetrics, PhoenixSocket, type PhoenixReply } from '../lib/phoenix.js';
import type { Scenario } from '../lib/scenario.js';
import { holdOpen, roomTopic, tokenFor, urlFor } from '../lib/session.js';

/** The event the publishers push. */
export const rolloutEvent = 'rollout_msg';

/** A rollout message: `n` numbers the messages of one room from 1, with no gap and no repeat. */
export interface RolloutMessage {
  n: number;
  sent_at: number;
  body: string;
}

/** The join reply of a join with recovery (docs/recovery.md). */
interface RecoveryReply {
  recovered?: boolean;
  epoch?: string;
  offset?: number;
  reason?: string;
}

/** The metric names of the scenario (docs/loadtests.md#rollout). */
export const continuityMetrics = {
  lost: 'continuity_messages_lost',
  duplicated: 'continuity_messages_duplicated',
  reordered: 'continuity_messages_reordered',
  delivered: 'continuity_messages_delivered',
  published: 'continuity_messages_published',
  reconnectTime: 'continuity_reconnect_time',
  reconnectDelay: 'continuity_reconnect_delay',
  recoverySuccess: 'continuity_recovery_success',
  connects: 'continuity_connects',
  reconnects: 'continuity_reconnects',
  clients: 'continuity_clients',
  clientsMoved: 'continuity_clients_moved',
  clientsStranded: 'continuity_clients_stranded',
} as const;

export const rollout: Scenario = {
  name: 'rollout',
  description:
    'Each VU holds a join with recovery for DURATION and reconnects (honouring the 1012 hint) when closed; ' +
    'the first VU of each room publishes numbered messages; counts lost, duplicated, reordered, reconnect time',
  defaults: {
    VUS: '50',
    DURATION: '2m',
    ROOMS: '5',
    PUBLISH_INTERVAL: '100ms',
    DRAIN: '3s',
    GRACEFUL_STOP: '30s',
  },
  // Plus the continuity objectives of slo/objectives.yaml's loadTestObjectives: none lost, reconnect p99.
  sloMetrics: [
    'ws_connect_success',
    'phx_join_success',
    'phx_errors',
    continuityMetrics.lost,
    continuityMetrics.reconnectTime,
  ],
  init(engine, config) {
    const protocol = createProtocolMetrics(engine);
    const m = continuityMetrics;
    const lost = engine.counter(m.lost);
    const duplicated = engine.counter(m.duplicated);
    const reordered = engine.counter(m.reordered);
    const delivered = engine.counter(m.delivered);
    const published = engine.counter(m.published);
    const reconnectTime = engine.trend(m.reconnectTime, true);
    const reconnectDelay = engine.trend(m.reconnectDelay, true);
    const recoverySuccess = engine.rate(m.recoverySuccess);
    const connects = engine.counter(m.connects, { peaks: true });
    const reconnects = engine.counter(m.reconnects, { peaks: true });
    const clients = engine.counter(m.clients);
    const clientsMoved = engine.counter(m.clientsMoved);
    const clientsStranded = engine.counter(m.clientsStranded);
    const body = 'x'.repeat(config.payloadBytes);

    return async (vu) => {
      const remaining = vu.remainingMs();
      // One session spans the whole run (a second one would restart the numbering): idle out otherwise.
      if (vu.iteration > 0 || remaining < Math.max(1000, config.drainMs + config.publishIntervalMs)) {
        await sleep(engine, Math.max(0, remaining));
        return;
      }
      const end = engine.now() + remaining;
      const start = end - config.durationMs;
      // Publishers start once the rooms are full; a client joined by then is owed every message from 1.
      const publishFrom = start + Math.min(2000, config.durationMs / 10);
      const stopPublishingAt = end - config.drainMs;
      const room = (vu.vu - 1) % config.rooms;
      const topic = roomTopic(config, room);
      const isPublisher = vu.vu <= config.rooms;
      // The publisher always recovers: it learns from its own recovered messages whether a push cut
      // off by a close was published, so the numbering has no false gap or repeat.
      const recover = config.recover || isPublisher;

      let tracker: ContinuityTracker | undefined;
      let firstJoinAt: number | undefined;
      const track = (): ContinuityTracker => {
        tracker ??= new ContinuityTracker(
          firstJoinAt !== undefined && firstJoinAt < publishFrom ? 0 : undefined,
        );
        return tracker;
      };
      let position: StreamPosition | null = null;
      let caughtUp: (() => void) | undefined;
      let waitOffset = 0;

      const onMessage = (payload: unknown, ref: string | null) => {
        const n = (payload as Partial<RolloutMessage> | null)?.n;
        if (typeof n !== 'number') return;
        const pos = recover ? parsePosition(ref) : null;
        if (pos && (!position || pos.epoch !== position.epoch || pos.offset > position.offset)) {
          position = pos;
        }
        const arrival = track().receive(n);
        if (arrival === 'duplicate') duplicated.add(1);
        else {
          delivered.add(1);
          if (arrival === 'reordered') reordered.add(1);
        }
        if (caughtUp && position && position.offset >= waitOffset) caughtUp();
      };

      // Publisher state: one push in flight at a time; `uncertain` when one was cut off unanswered.
      let nextN = 1;
      let inFlight = false;
      let uncertain = false;
      let publisher: TimerHandle | undefined;

      let closedAt: number | undefined;
      let everClosed = false;
      let stranded = false;
      let tries = 0;
      let socket: PhoenixSocket | undefined;
      const retry = async () => {
        tries++;
        await sleep(engine, phoenixReconnectAfterMs(tries));
      };
      try {
        for (;;) {
          if (closedAt === undefined && engine.now() >= end) break;
          if (closedAt !== undefined && engine.now() > end + config.timeoutMs) {
            stranded = true; // closed and not back within TIMEOUT after the end
            break;
          }
          connects.add(1);
          if (closedAt !== undefined) reconnects.add(1);
          try {
            socket = await PhoenixSocket.open(engine, protocol, {
              url: urlFor(config, vu.vu),
              token: tokenFor(config, vu.vu),
              timeoutMs: config.timeoutMs,
              heartbeatMs: config.heartbeatMs,
            });
          } catch {
            socket = undefined;
            await retry();
            continue;
          }
          socket.on(topic, rolloutEvent, (payload, frame) => onMessage(payload, frame[1]));
          const params: Record<string, unknown> = recover
            ? { recover: position ? { ...position } : true }
            : {};
          let reply: PhoenixReply;
          try {
            reply = await socket.join(topic, params);
          } catch {
            await socket.close();
            await retry();
            continue;
          }
          if (reply.status !== 'ok') {
            await socket.close();
            await retry();
            continue;
          }
          tries = 0;
          const joinedAt = engine.now();
          firstJoinAt ??= joinedAt;
          const response = (reply.response ?? {}) as RecoveryReply;
          if (closedAt !== undefined) {
            reconnectTime.add(joinedAt - closedAt);
            if (recover) recoverySuccess.add(response.recovered === true);
            closedAt = undefined;
          }
          if (recover && typeof response.epoch === 'string' && typeof response.offset === 'number') {
            const top = { epoch: response.epoch, offset: response.offset };
            if (response.recovered !== true || !position) position = top;
            else if (position.offset < top.offset) {
              // The missed messages follow the reply: wait for them (at most TIMEOUT) before going on.
              waitOffset = top.offset;
              const current = socket;
              let timer: TimerHandle | undefined;
              await Promise.race([
                new Promise<void>((resolve) => (caughtUp = resolve)),
                current.closed(),
                new Promise<void>((resolve) => (timer = engine.setTimeout(resolve, config.timeoutMs))),
              ]);
              engine.clearTimeout(timer);
              caughtUp = undefined;
            }
          }
          if (isPublisher) {
            if (uncertain) {
              // Whatever the cut-off push published came back in the recovery: continue after it.
              if (track().counts().highest >= nextN) {
                published.add(1);
                nextN = track().counts().highest + 1;
              }
              uncertain = false;
            }
            const current = socket;
            const publish = () => {
              if (engine.now() >= stopPublishingAt) {
                engine.clearInterval(publisher);
                return;
              }
              if (inFlight || engine.now() < publishFrom || !current.isOpen) return;
              inFlight = true;
              const n = nextN;
              const msg: RolloutMessage = { n, sent_at: engine.now(), body };
              current.push(topic, rolloutEvent, msg).then(
                (r) => {
                  inFlight = false;
                  if (r.status !== 'ok') return; // refused: not published, the same n goes again
                  nextN = n + 1;
                  published.add(1);
                },
                () => {
                  // Cut off (close or timeout): published or not, the rejoin's recovery tells.
                  inFlight = false;
                  uncertain = true;
                  void current.close();
                },
              );
            };
            publisher = engine.setInterval(publish, config.publishIntervalMs);
            publish();
          }
          const toEnd = end - engine.now();
          const openAtEnd = toEnd > 0 ? await holdOpen(engine, socket, toEnd) : socket.isOpen;
          engine.clearInterval(publisher);
          publisher = undefined;
          if (openAtEnd) break;
          // Closed under us: wait as told (or phoenix's first retry), then reconnect and recover.
          const ev = await socket.closed();
          closedAt = engine.now();
          everClosed = true;
          const hint = config.honourHint ? reconnectHint(ev) : null;
          const delay = hint ?? phoenixReconnectAfterMs(1);
          reconnectDelay.add(delay);
          await sleep(engine, delay);
        }
      } finally {
        engine.clearInterval(publisher);
        await socket?.close();
        const c = tracker?.counts();
        if (c) lost.add(c.missing);
        clients.add(1);
        if (everClosed && !stranded) clientsMoved.add(1);
        if (stranded) clientsStranded.add(1);
      }
    };
  },
};
