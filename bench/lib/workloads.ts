/**
 * The workloads of issue 14. Fixed ones offer a set load and measure what it costs the server;
 * the search one finds the highest rate that still meets the p99 bound with nothing lost.
 *
 * - A: one room, 1,000 subscribers, 50 msg/s.
 * - B: 100 rooms x 100 subscribers (10,000 connections), 5 msg/s in each room.
 * - C: one hot room, 1,000 subscribers, as fast as the bound allows.
 * - D: the reconnect storm (a deploy): 100 rooms x 100 subscribers joined with recovery, 2 msg/s
 *   in each room; the server closes every subscriber at once, all reconnect and rejoin with their
 *   last position (reconnect-storm.ts).
 */
export type WorkloadName = 'A' | 'B' | 'C' | 'D';
export const WORKLOAD_NAMES: readonly WorkloadName[] = ['A', 'B', 'C', 'D'];

export interface Workload {
  name: WorkloadName;
  rooms: number;
  subscribersPerRoom: number;
  /** Publications/s per room: the offered load (fixed) or where the search starts (search). */
  ratePerRoom: number;
  mode: 'fixed' | 'search' | 'storm';
  /** p99 bound, ms (fixed and search; a storm is judged on recovery, not latency). */
  boundMs: number;
}

/** The sizes. */
export const WORKLOADS: Record<WorkloadName, Workload> = {
  A: { name: 'A', rooms: 1, subscribersPerRoom: 1_000, ratePerRoom: 50, mode: 'fixed', boundMs: 100 },
  B: { name: 'B', rooms: 100, subscribersPerRoom: 100, ratePerRoom: 5, mode: 'fixed', boundMs: 100 },
  C: { name: 'C', rooms: 1, subscribersPerRoom: 1_000, ratePerRoom: 100, mode: 'search', boundMs: 100 },
  D: { name: 'D', rooms: 100, subscribersPerRoom: 100, ratePerRoom: 2, mode: 'storm', boundMs: 100 },
};

/** One line for reports, built from the workload's own numbers. */
export function describeWorkload(w: Workload): string {
  const rooms = w.rooms === 1 ? 'one room' : `${w.rooms.toLocaleString('en')} rooms`;
  const subs = `${w.subscribersPerRoom.toLocaleString('en')} subscribers${w.rooms > 1 ? ' each' : ''}`;
  const rate = `${w.ratePerRoom} msg/s${w.rooms > 1 ? ' in each room' : ''}`;
  const load =
    w.mode === 'fixed'
      ? rate
      : w.mode === 'storm'
        ? `${rate}, joined with recovery; the server closes every subscriber at once, all reconnect and rejoin with their last position`
        : `as fast as p99 <= ${w.boundMs} ms allows`;
  return `${w.name}: ${rooms}, ${subs}, ${load}`;
}
