/**
 * Presence churn: every VU opens a socket and joins and leaves a room CYCLES times, staying HOLD each
 * time, so every room sees a steady stream of presence joins and leaves. Measures the time from the
 * join to the presence_state that must follow it (phx_presence_sync_duration).
 */
import { sleep } from '../lib/engine.js';
import { createProtocolMetrics } from '../lib/phoenix.js';
import type { Scenario } from '../lib/scenario.js';
import { backOff, holdOpen, openFor, roomTopic } from '../lib/session.js';

export const presenceChurn: Scenario = {
  name: 'presence-churn',
  description: 'Each VU joins and leaves a room CYCLES times per connection, holding HOLD each time',
  defaults: { VUS: '30', DURATION: '30s', ROOMS: '3', HOLD: '500ms', CYCLES: '3' },
  sloMetrics: ['ws_connect_success', 'phx_join_success', 'phx_errors'],
  init(engine, config) {
    const metrics = createProtocolMetrics(engine);
    const syncDuration = engine.trend('phx_presence_sync_duration', true);
    return async (vu) => {
      if (vu.remainingMs() <= config.holdMs) {
        await sleep(engine, Math.max(0, vu.remainingMs()));
        return;
      }
      const socket = await openFor(engine, metrics, config, vu);
      if (!socket) return;
      const topic = roomTopic(config, (vu.vu - 1) % config.rooms);
      let failed = false;
      try {
        for (let cycle = 0; cycle < config.cycles && vu.remainingMs() > config.holdMs; cycle++) {
          const started = engine.now();
          let synced: (() => void) | undefined;
          const gotState = new Promise<void>((resolve) => (synced = resolve));
          const off = socket.on(topic, 'presence_state', () => synced?.());
          const reply = await socket.join(topic);
          if (reply.status !== 'ok') {
            off();
            failed = true;
            break;
          }
          let timer: unknown;
          const inTime = await Promise.race([
            gotState.then(() => true),
            new Promise<boolean>(
              (resolve) => (timer = engine.setTimeout(() => resolve(false), config.timeoutMs)),
            ),
          ]);
          engine.clearTimeout(timer);
          off();
          // A join without its presence_state is a broken presence contract: count it as an error.
          metrics.errors.add(!inTime);
          if (inTime) syncDuration.add(engine.now() - started);
          if (!(await holdOpen(engine, socket, config.holdMs))) break;
          await socket.leave(topic);
        }
      } catch {
        failed = true; // timeouts and closes are recorded by the client
      } finally {
        await socket.close();
      }
      if (failed) await backOff(engine, vu);
    };
  },
};
