/** The engine on k6: k6/metrics, k6/timers, k6/websockets and `__ENV`. */
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import {
  clearInterval,
  clearTimeout,
  setInterval,
  setTimeout,
  type IntervalID,
  type TimeoutID,
} from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import type { Engine, WebSocketConstructor } from '../engine.js';

/** Creates the k6 engine; call it in the init context (k6 only allows metrics to be created there). */
export function createK6Engine(): Engine {
  return {
    name: 'k6',
    env: __ENV,
    // k6's class brands its instances; its browser-style surface is what BrowserWebSocket describes.
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    counter: (name) => new Counter(name),
    rate: (name) => new Rate(name),
    trend: (name, isTime) => new Trend(name, isTime),
    gauge: (name) => new Gauge(name),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => {
      if (handle !== undefined) clearTimeout(handle as TimeoutID);
    },
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: (handle) => {
      if (handle !== undefined) clearInterval(handle as IntervalID);
    },
    now: () => Date.now(),
  };
}
