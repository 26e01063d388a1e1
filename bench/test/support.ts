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
  boundMs: 100,
};

export const faultyServer = fileURLToPath(new URL('./fixtures/faulty-rooms-server.ts', import.meta.url));

export function tinyOptions(o: Partial<BenchOptions> = {}): BenchOptions {
  return {
    ...defaultOptions,
    targets: ['ws'],
    workloads: [TINY],
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
