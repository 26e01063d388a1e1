/** Fan-out: rooms with many subscribers and a few publishers; measures publish-to-receive latency. */
import { fanoutScenario } from './fanout-logic.js';

export const fanout = fanoutScenario(
  'fanout',
  'VUs join ROOMS rooms; PUBLISHERS per room publish every PUBLISH_INTERVAL; all record delivery latency',
  { VUS: '100', DURATION: '1m', ROOMS: '5', PUBLISHERS: '2', PUBLISH_INTERVAL: '200ms', DRAIN: '1s' },
);
