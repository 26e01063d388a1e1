/**
 * The workloads of issue 14. Fixed ones offer a set load and measure what it costs the server;
 * the search one finds the highest rate that still meets the p99 bound with nothing lost.
 *
 * - A: one room, 1,000 subscribers, 50 msg/s.
 * - B: 100 rooms x 100 subscribers (10,000 connections), 5 msg/s in each room.
 * - C: one hot room, 1,000 subscribers, as fast as the bound allows.
 */
export type WorkloadName = 'A' | 'B' | 'C';
export const WORKLOAD_NAMES: readonly WorkloadName[] = ['A', 'B', 'C'];

export interface Workload {
  name: WorkloadName;
  rooms: number;
  subscribersPerRoom: number;
  /** Publications/s per room: the offered load (fixed) or where the search starts (search). */
  ratePerRoom: number;
  mode: 'fixed' | 'search';
  /** p99 bound, ms. */
  boundMs: number;
}

/** The sizes. */
export const WORKLOADS: Record<WorkloadName, Workload> = {
  A: { name: 'A', rooms: 1, subscribersPerRoom: 1_000, ratePerRoom: 50, mode: 'fixed', boundMs: 100 },
  B: { name: 'B', rooms: 100, subscribersPerRoom: 100, ratePerRoom: 5, mode: 'fixed', boundMs: 100 },
  C: { name: 'C', rooms: 1, subscribersPerRoom: 1_000, ratePerRoom: 100, mode: 'search', boundMs: 100 },
};

/** One line for reports, built from the workload's own numbers. */
export function describeWorkload(w: Workload): string {
  const rooms = w.rooms === 1 ? 'one room' : `${w.rooms.toLocaleString('en')} rooms`;
  const subs = `${w.subscribersPerRoom.toLocaleString('en')} subscribers${w.rooms > 1 ? ' each' : ''}`;
  const load =
    w.mode === 'fixed'
      ? `${w.ratePerRoom} msg/s${w.rooms > 1 ? ' in each room' : ''}`
      : `as fast as p99 <= ${w.boundMs} ms allows`;
  return `${w.name}: ${rooms}, ${subs}, ${load}`;
}
