// Tiny, fast benchmark settings for the harness tests: a handful of clients, one-second steps.
import { fileURLToPath } from 'node:url';
import { defaultOptions, type BenchOptions } from '../lib/options.js';
import type { Workload } from '../lib/workloads.js';

/** One room of six subscribers at 20 msg/s, fixed load. */
export const TINY: Workload = {
  name: 'A',
  rooms: 1,
  subscribersPerRoom: 6,
  ratePerRoom: 20,
  mode: 'fixed',
  // The harness tests check deliveries (lost, repeated, reordered), not speed: a latency target is
  // the benchmark's job (bench/run.ts), and 100 ms failed 'a correct server passes' on a loaded
  // machine. This is a ceiling only a hung server reaches. It also sets how long a step waits for
  // stragglers (4 x bound) before counting them lost, so the 'drop' case waits that long.
  boundMs: 3000,
};

export const faultyServer = fileURLToPath(new URL('./fixtures/faulty-rooms-server.ts', import.meta.url));

export function tinyOptions(o: Partial<BenchOptions> = {}): BenchOptions {
  return {
    ...defaultOptions,
    targets: ['ws'],
    workloads: [TINY],
    variants: ['one-node'],
    idle: false,
    runs: 1,
    stepMs: 1000,
    warmupMs: 0,
    shards: 2,
    samplers: 2,
    // Other test runs share the machine: only the mechanics are under test here, not the speed.
    generatorCpuMax: 100,
    outFile: undefined,
    jsonFile: undefined,
    ...o,
  };
}
