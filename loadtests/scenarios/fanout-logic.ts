/**
 * Fan-out VU logic, shared by the fan-out and soak scenarios: VUs are spread over ROOMS rooms; the
 * first PUBLISHERS VUs of each room publish a timestamped message every PUBLISH_INTERVAL, and every
 * member records publish-to-receive latency from that timestamp (phx_delivery_latency).
 */
import type { EnvDefaults } from '../lib/config.js';
import { sleep } from '../lib/engine.js';
import { createProtocolMetrics } from '../lib/phoenix.js';
import type { Scenario } from '../lib/scenario.js';
import { backOff, holdOpen, openFor, roomTopic } from '../lib/session.js';

/** The event publishers push and subscribers receive. */
export const fanoutEvent = 'load_msg';

/** The message a publisher pushes. `sent_at` is wall-clock ms, so sender and receivers need one clock. */
export interface FanoutMessage {
  sent_at: number;
  vu: number;
  seq: number;
  body: string;
}

/** Makes a fan-out style scenario with its own name and defaults. */
export function fanoutScenario(name: string, description: string, defaults: EnvDefaults): Scenario {
  return {
    name,
    description,
    defaults,
    sloMetrics: ['ws_connect_success', 'phx_join_success', 'phx_delivery_latency', 'phx_errors'],
    init(engine, config) {
      const metrics = createProtocolMetrics(engine);
      const latency = engine.trend('phx_delivery_latency', true);
      const body = 'x'.repeat(config.payloadBytes);
      return async (vu) => {
        const remaining = vu.remainingMs();
        const sessionMs = config.sessionMs > 0 ? Math.min(config.sessionMs, remaining) : remaining;
        // Too little time left for a meaningful session: idle out the scenario instead of spinning.
        if (sessionMs < Math.max(1000, config.drainMs + config.publishIntervalMs)) {
          await sleep(engine, Math.max(0, remaining));
          return;
        }
        const end = engine.now() + sessionMs;
        const room = (vu.vu - 1) % config.rooms;
        const isPublisher = Math.floor((vu.vu - 1) / config.rooms) < config.publishersPerRoom;
        const topic = roomTopic(config, room);

        const socket = await openFor(engine, metrics, config, vu);
        if (!socket) return;
        socket.on(topic, fanoutEvent, (payload) => {
          const sentAt = (payload as Partial<FanoutMessage> | null)?.sent_at;
          if (typeof sentAt === 'number') latency.add(Math.max(0, engine.now() - sentAt));
        });
        let publisher: unknown;
        try {
          const reply = await socket.join(topic);
          if (reply.status !== 'ok') {
            await socket.close();
            await backOff(engine, vu);
            return;
          }
          if (isPublisher) {
            let seq = 0;
            const stopAt = end - config.drainMs;
            const publish = () => {
              if (engine.now() + config.publishIntervalMs > stopAt || !socket.isOpen) {
                engine.clearInterval(publisher);
                return;
              }
              const msg: FanoutMessage = { sent_at: engine.now(), vu: vu.vu, seq: seq++, body };
              // Replies and their failures are recorded by the client; the loop keeps its pace.
              socket.push(topic, fanoutEvent, msg).catch(() => {});
            };
            // Let the room fill before the first message, and stagger publishers within an interval.
            const settle = Math.min(1000, sessionMs / 10) + ((vu.vu * 37) % config.publishIntervalMs);
            await holdOpen(engine, socket, settle);
            publisher = engine.setInterval(publish, config.publishIntervalMs);
            publish();
          }
          await holdOpen(engine, socket, end - engine.now());
          engine.clearInterval(publisher);
          if (socket.isOpen) await socket.leave(topic);
        } catch {
          // Timeouts and closes are recorded by the client; this session is over either way.
        } finally {
          engine.clearInterval(publisher);
          await socket.close();
        }
      };
    },
  };
}
