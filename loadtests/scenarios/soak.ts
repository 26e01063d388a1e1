/**
 * Soak: fan-out at a gentle rate for a long time. Sessions last SESSION and then reconnect, and the
 * client heartbeats, so leaks in connection, subscription and presence bookkeeping show up over time.
 */
import { fanoutScenario } from './fanout-logic.js';

export const soak = fanoutScenario(
  'soak',
  'Fan-out at a low rate for DURATION with SESSION-long connections that reconnect',
  {
    VUS: '50',
    DURATION: '30m',
    ROOMS: '5',
    PUBLISHERS: '1',
    PUBLISH_INTERVAL: '1s',
    SESSION: '5m',
    DRAIN: '2s',
    HEARTBEAT: '30s',
    GRACEFUL_STOP: '30s',
  },
);
