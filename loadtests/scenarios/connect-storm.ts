/**
 * Connect storm: every VU connects, joins a room, optionally holds, closes, and starts again as fast
 * as the server lets it. Measures upgrade and join success and the join latency under connection churn.
 */
import type { Scenario } from '../lib/scenario.js';
import { createProtocolMetrics } from '../lib/phoenix.js';
import { holdOpen, openFor, roomTopic, backOff } from '../lib/session.js';

export const connectStorm: Scenario = {
  name: 'connect-storm',
  description: 'Each VU connects, joins a room, holds for HOLD, closes, and repeats',
  defaults: { VUS: '50', DURATION: '30s', ROOMS: '10', HOLD: '0s' },
  sloMetrics: ['ws_connect_success', 'phx_join_success', 'phx_errors'],
  init(engine, config) {
    const metrics = createProtocolMetrics(engine);
    return async (vu) => {
      if (vu.remainingMs() <= 0) return;
      const socket = await openFor(engine, metrics, config, vu);
      if (!socket) return;
      let refused = true; // until the server says ok
      try {
        const reply = await socket.join(roomTopic(config, (vu.vu - 1) % config.rooms));
        refused = reply.status !== 'ok';
        if (!refused && config.holdMs > 0) await holdOpen(engine, socket, config.holdMs);
      } catch {
        // A timeout or close is recorded by the client; this iteration is over.
      } finally {
        await socket.close();
      }
      if (refused) await backOff(engine, vu);
    };
  },
};
