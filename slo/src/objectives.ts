import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { isSeriesSelector } from './promql.js';
import { objectivesSchema } from './schema.js';

/** Good (or bad) events over total events, each a sum of counter selectors. */
export interface RatioSli {
  kind: 'ratio';
  /** Which side the event list counts: good events (success) or bad events (errors). */
  counts: 'good' | 'bad';
  events: string[];
  total: string[];
}

/** Observations of `histogram` at or under `threshold` seconds are good. */
export interface LatencySli {
  kind: 'latency';
  histogram: string;
  threshold: number;
}

/**
 * The share of samples in which a 0/1 gauge (Prometheus's `up`: the scrape succeeded) was 1, averaged
 * over its series: time every target was available.
 */
export interface AvailabilitySli {
  kind: 'availability';
  up: string;
}

/** One objective of slo/objectives.yaml, validated and normalised. */
export interface Objective {
  name: string;
  description: string;
  /** Share of good events over the window, 0 < target < 1. */
  target: number;
  window: '30d';
  sli: RatioSli | LatencySli | AvailabilitySli;
  /** Absent when the load test's clients cannot observe the SLI (a server restart, a broker error). */
  k6?: { metric: string };
  /** A window without events of this kind is "not exercised" at the gate, not "inconclusive". */
  optional?: boolean;
}

/**
 * An objective only the load test's clients can measure (messages lost, reconnect time): no
 * Prometheus series, so no rules or dashboards. It becomes a k6 threshold, and the gate judges it
 * from the load test's summary JSON: `k6.aggregation` of `k6.metric` must be <= `max`.
 */
export interface LoadTestObjective {
  name: string;
  description: string;
  k6: { metric: string; aggregation: string };
  max: number;
  unit: 'count' | 'ratio' | 'ms';
  /** No samples in the summary is "not exercised" (e.g. no client reconnected), not "inconclusive". */
  optional: boolean;
}

/** Everything slo/objectives.yaml states. */
export interface SloSource {
  /** Objectives with a Prometheus SLI: rules, dashboards, k6 thresholds and gate queries. */
  objectives: Objective[];
  /** Objectives of the load test's clients: k6 thresholds and gate checks of the summary. */
  loadTest: LoadTestObjective[];
}

interface RawLoadTestObjective {
  name: string;
  description: string;
  k6: { metric: string; aggregation: string };
  max: number;
  unit?: LoadTestObjective['unit'];
  optional?: boolean;
}

interface RawObjective {
  name: string;
  description: string;
  target: number;
  window: '30d';
  optional?: boolean;
  sli: {
    ratio?: { good?: string[]; bad?: string[]; total: string[] };
    latency?: { histogram: string; threshold: number };
    availability?: { up: string };
  };
  k6?: { metric: string };
}

/** A problem in objectives.yaml; `message` names the objective, the field and the fix. */
export class ObjectivesError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ObjectivesError';
  }
}

const validate = new Ajv({ allErrors: true, verbose: true }).compile(objectivesSchema);

/** "objectives[2] (delivery-latency) sli.latency.threshold" from an instance path. */
function describeField(path: string, doc: unknown): string {
  const parts = path.split('/').slice(1);
  const list = parts[0];
  if ((list !== 'objectives' && list !== 'loadTestObjectives') || parts[1] === undefined)
    return parts.join('.') || '(top level)';
  const index = Number(parts[1]);
  const objectives = (doc as Record<string, unknown[] | undefined>)[list];
  const name = (objectives?.[index] as { name?: unknown } | undefined)?.name;
  const where = `${list}[${index}]${typeof name === 'string' ? ` (${name})` : ''}`;
  const rest = parts.slice(2);
  return rest.length > 0 ? `${where} field "${rest.join('.')}"` : where;
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}

function describeSchemaError(err: ErrorObject, doc: unknown): string {
  const parent = (err.parentSchema ?? {}) as SchemaNode;
  let path = err.instancePath;
  let message = err.message ?? 'is invalid';
  let hint = parent.description;
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    path += `/${missing}`;
    message = 'is missing';
    hint = parent.properties?.[missing]?.description;
  } else if (err.keyword === 'additionalProperties') {
    path += `/${(err.params as { additionalProperty: string }).additionalProperty}`;
    message = 'is not a known field (check its spelling)';
    hint = `one of ${Object.keys(parent.properties ?? {}).join(', ')}`;
  }
  return `${describeField(path, doc)}: ${message}${hint ? `; expected ${hint}` : ''}`;
}

/** Names and k6 metrics seen so far, each with where it was first used (`objectives[2]`). */
interface Seen {
  name: Map<string, string>;
  metric: Map<string, string>;
}

/** Names and k6 metrics are unique over both lists: one `slo` label, one threshold per metric. */
function uniqueness(
  where: string,
  at: string,
  o: { name: string; k6?: { metric: string } },
  seen: Seen,
): string[] {
  const problems: string[] = [];
  const first = seen.name.get(o.name);
  if (first !== undefined) problems.push(`${where} field "name": duplicates ${first}; names must be unique`);
  else seen.name.set(o.name, at);
  if (o.k6) {
    const firstMetric = seen.metric.get(o.k6.metric);
    if (firstMetric !== undefined) {
      problems.push(
        `${where} field "k6.metric": already used by ${firstMetric}; give each objective its own`,
      );
    } else seen.metric.set(o.k6.metric, at);
  }
  return problems;
}

/** Checks what a schema cannot: unique names, PromQL selectors that parse. */
function semanticProblems(objectives: RawObjective[], loadTest: RawLoadTestObjective[]): string[] {
  const problems: string[] = [];
  const seen: Seen = { name: new Map(), metric: new Map() };
  objectives.forEach((o, i) => {
    const where = `objectives[${i}] (${o.name})`;
    problems.push(...uniqueness(where, `objectives[${i}]`, o, seen));
    if (o.optional && o.sli.availability) {
      problems.push(
        `${where} field "optional": an availability SLI always has scrapes to judge; leave optional out`,
      );
    }
    const up = o.sli.availability?.up;
    if (up !== undefined && !isSeriesSelector(up)) {
      problems.push(
        `${where} field "sli.availability.up": ${JSON.stringify(up)} is not one series selector; ` +
          'write a gauge name with optional label matchers, e.g. up{job="switchboard"}',
      );
    }
    for (const [side, list] of Object.entries(o.sli.ratio ?? {})) {
      list.forEach((selector, j) => {
        if (!isSeriesSelector(selector)) {
          problems.push(
            `${where} field "sli.ratio.${side}[${j}]": ${JSON.stringify(selector)} is not one series selector; ` +
              'write a counter name with optional label matchers, e.g. switchboard_joins_total{result="ok"}',
          );
        }
      });
    }
  });
  loadTest.forEach((o, i) => {
    const at = `loadTestObjectives[${i}]`;
    problems.push(...uniqueness(`${at} (${o.name})`, at, o, seen));
  });
  return problems;
}

function normalise(raw: RawObjective): Objective {
  const { ratio, latency, availability } = raw.sli;
  const sli: Objective['sli'] = ratio
    ? ratio.good
      ? { kind: 'ratio', counts: 'good', events: ratio.good, total: ratio.total }
      : { kind: 'ratio', counts: 'bad', events: ratio.bad ?? [], total: ratio.total }
    : availability
      ? { kind: 'availability', up: availability.up }
      : { kind: 'latency', histogram: latency!.histogram, threshold: latency!.threshold };
  const objective: Objective = {
    name: raw.name,
    description: raw.description,
    target: raw.target,
    window: raw.window,
    sli,
  };
  if (raw.k6) objective.k6 = raw.k6;
  if (raw.optional) objective.optional = true;
  return objective;
}

function normaliseLoadTest(raw: RawLoadTestObjective): LoadTestObjective {
  return {
    name: raw.name,
    description: raw.description,
    k6: { metric: raw.k6.metric, aggregation: raw.k6.aggregation },
    max: raw.max,
    unit: raw.unit ?? 'count',
    optional: raw.optional === true,
  };
}

/** Parses and validates the YAML text of an objectives file; throws ObjectivesError naming every problem. */
export function parseSloSource(text: string, file = 'slo/objectives.yaml'): SloSource {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ObjectivesError(
      file,
      document.errors.map((e) => `YAML syntax: ${e.message}`),
    );
  }
  const doc: unknown = document.toJS();
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).map((e) => describeSchemaError(e, doc));
    throw new ObjectivesError(file, [...new Set(problems)]);
  }
  const raw = doc as unknown as { objectives: RawObjective[]; loadTestObjectives?: RawLoadTestObjective[] };
  const loadTest = raw.loadTestObjectives ?? [];
  const problems = semanticProblems(raw.objectives, loadTest);
  if (problems.length > 0) throw new ObjectivesError(file, problems);
  return { objectives: raw.objectives.map(normalise), loadTest: loadTest.map(normaliseLoadTest) };
}

/** The objectives with a Prometheus SLI of an objectives file's text (see parseSloSource). */
export function parseObjectives(text: string, file = 'slo/objectives.yaml'): Objective[] {
  return parseSloSource(text, file).objectives;
}

/** Reads and validates an objectives file (default slo/objectives.yaml). */
export function loadSloSource(file: string): SloSource {
  return parseSloSource(readFileSync(file, 'utf8'), file);
}

/** The objectives with a Prometheus SLI of an objectives file. */
export function loadObjectives(file: string): Objective[] {
  return loadSloSource(file).objectives;
}
