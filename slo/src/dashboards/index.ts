import { postgresDashboard, redisDashboard } from '../datastores.js';
import type { Objective } from '../objectives.js';
import type { DashboardSpec } from './model.js';
import { backends, runtime } from './platform.js';
import { connections, errors, latency } from './service.js';
import { sloOverview } from './slo-overview.js';

export { renderDashboard, type DashboardSpec } from './model.js';

/** Every Switchboard dashboard, in the order they are written. */
export function dashboards(objectives: Objective[]): DashboardSpec[] {
  return [
    sloOverview(objectives),
    connections,
    latency(objectives),
    errors,
    runtime,
    backends,
    postgresDashboard,
    redisDashboard,
  ];
}
