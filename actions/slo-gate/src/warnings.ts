import {
  PrometheusClient,
  PrometheusError,
  type InstantQueryResult,
} from '../../../pipeline/src/prometheus/index.js';

/** At most this many warnings, each cut to this many characters, go into a reason (Prometheus sends up to 10). */
const maxWarnings = 3;
const maxWarningChars = 300;

/**
 * The gate's Prometheus client: an answer that carries `warnings` is no answer. Prometheus (v3.14,
 * web/api/v1/api.go) puts there what makes a result incomplete or doubtful -- a remote-read or
 * store error (partial data), results truncated by a limit, PromQL warnings -- and keeps info-level
 * notes apart (`infos`, not read here). Judging a deploy on partial data could pass a bad one, so
 * the objective becomes inconclusive and the warnings are its reason.
 */
export class GatePrometheusClient extends PrometheusClient {
  override async query(promql: string, time?: Date): Promise<InstantQueryResult> {
    const result = await super.query(promql, time);
    if (result.warnings.length > 0) throw warningsError(result.warnings);
    return result;
  }
}

/** The error an answer with `warnings` becomes, naming them (bounded). */
export function warningsError(warnings: string[]): PrometheusError {
  const shown = warnings
    .slice(0, maxWarnings)
    .map((w) => (w.length > maxWarningChars ? `${w.slice(0, maxWarningChars)}…` : w));
  const more = warnings.length > maxWarnings ? ` (and ${warnings.length - maxWarnings} more)` : '';
  return new PrometheusError(
    'PROMETHEUS_WARNINGS',
    `Prometheus answered with warnings, so the value may be partial: ${shown.join('; ')}${more}`,
  );
}
