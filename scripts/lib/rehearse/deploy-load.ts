// k6-loadtest in deploy.yml's staging job: `phase: start` before the sync, `phase: wait` after it.
// The rehearsal plays them with the action's own config reader and Node runner, in this process:
// start runs the scenario without awaiting it (the action's detached worker), wait awaits it and
// gives the outputs `run` gives. A fault or a scale-up begins once the deploy's sync has rolled the
// pods (or at once when there is no sync in the window); a fault that plays during the sync
// (`duringSync`) is started by the sync itself (faultDuringSync).
import { join } from 'node:path';
import { loadTestConfig, runLoadTest, type LoadTestOutcome } from './actions.js';
import type { FaultContext, FaultRecord } from './faults.js';
import type { RehearsalState, StandInState } from './handlers.js';
import { neighbourFaultContext, runNeighbourLoad, type NeighbourLoad } from './neighbour.js';
import type { ActionHandler, StepOutcome } from './player.js';
import { formatDuration } from './progress.js';
import { scaleUpDuringLoad, type ScaleUpRecord } from './scale-up.js';

/** A load test the start step left running. */
export interface RunningLoad {
  handle: string;
  startedAt: string;
  overrides: string[];
  done: Promise<
    [LoadTestOutcome, FaultRecord | undefined, NeighbourLoad | undefined, ScaleUpRecord | undefined]
  >;
}

/** A promise resolved from outside (the deploy's sync resolves `rolled`). */
export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

/** A Deferred, unresolved. */
export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function changes(list: string[]): string {
  return list.length ? `rehearsal sets ${list.join(', ')}` : '';
}

const stagingContext = (
  standIn: StandInState,
  holdMs: number,
  log: (line: string) => void,
): FaultContext => ({
  replicas: standIn.replicas,
  redis: standIn.redis,
  ingressUrl: standIn.ingressUrl,
  apiToken: standIn.secrets.API_TOKEN ?? '',
  jwtSecret: standIn.secrets.JWT_SECRET ?? '',
  holdMs,
  log,
});

/**
 * Starts a `duringSync` fault as the deploy's sync begins to roll the pods; `stop()` ends it when the
 * sync is done.
 * Other faults (and none) give a no-op.
 */
export function faultDuringSync(state: RehearsalState, log: (line: string) => void): { stop: () => void } {
  const fault = state.fault;
  const standIn = state.standIn;
  if (!fault?.duringSync || !standIn || state.faultInNeighbour) return { stop: () => undefined };
  const stop = new AbortController();
  // From the first pod replaced, not the sync's start: its hooks (the migration) are not the target.
  standIn.cluster.onRollStart = () => {
    standIn.cluster.onRollStart = undefined;
    log(`injecting fault ${fault.name} while the pods roll: ${fault.description}`);
    state.faultDuringSync = fault.inject({
      ...stagingContext(standIn, state.faultAt?.holdMs ?? 0, log),
      signal: stop.signal,
    });
    state.faultDuringSync.catch(() => undefined);
  };
  return {
    stop: () => {
      standIn.cluster.onRollStart = undefined;
      stop.abort();
    },
  };
}

/** Starts the load test and what runs beside it (the neighbour's traffic, a fault, a scale-up). */
async function startLoad(
  state: RehearsalState,
  inputs: Record<string, string>,
  log: (line: string) => void,
): Promise<RunningLoad> {
  const overrides: Record<string, string> = { engine: 'node' };
  if (state.session) {
    overrides.env = [inputs.env ?? '', `SESSION=${state.session}`].filter(Boolean).join('\n');
  }
  const config = loadTestConfig({ ...inputs, ...overrides, phase: 'run' }, state.root, state.summaryDir);
  let lines = 0;
  // What k6-loadtest outputs as started-at: the start of the span the SLO gate judges.
  const startedAt = new Date().toISOString();
  const running = runLoadTest(config, (line) => {
    if (lines++ % 5 === 0) log(line);
  });
  running.catch(() => undefined);
  const neighbour = state.neighbour ? await state.neighbour : undefined;
  const neighbourLoad = neighbour ? runNeighbourLoad(neighbour, config, state.summaryDir) : undefined;
  // After the deploy's rolling update (or when the load ends first): the fault and the scale-up
  // hit the pods that will stay, not ones about to be replaced.
  let loadEnded = false;
  const ended = running.then(
    () => (loadEnded = true),
    () => (loadEnded = true),
  );
  const loadStartedAt = Date.parse(startedAt);
  // Resolves true at `atMs` into the load (once the pods rolled, unless `afterRoll` is false); false
  // when the load ended first.
  const waitUntil = async (atMs: number, afterRoll = true): Promise<boolean> => {
    if (afterRoll) await Promise.race([state.rolled.promise, ended]);
    await new Promise((r) => setTimeout(r, Math.max(0, atMs - (Date.now() - loadStartedAt))));
    return !loadEnded;
  };
  const fault = state.fault;
  const standIn = state.standIn;
  let injected: Promise<FaultRecord | undefined> | undefined;
  if (fault && !fault.duringSync && state.faultAt && standIn) {
    const at = state.faultAt;
    // A fault in the neighbour (production) hits pods the deploy's roll does not touch.
    const inNeighbour = state.faultInNeighbour === true && neighbour !== undefined;
    injected = waitUntil(at.atMs, !inNeighbour).then((inTime) => {
      if (!inTime) {
        log(`fault ${fault.name} not injected: the load test ended before the pods rolled`);
        return undefined;
      }
      const into = inNeighbour ? ` into ${neighbour.environment}` : '';
      log(`injecting fault ${fault.name}${into}: ${fault.description}`);
      return fault.inject(
        inNeighbour
          ? neighbourFaultContext(neighbour, at.holdMs, log)
          : stagingContext(standIn, at.holdMs, log),
      );
    });
  }
  const scaleUp = state.scaleUp;
  const scaled =
    scaleUp && standIn
      ? waitUntil(0).then((inTime) =>
          !inTime
            ? undefined
            : scaleUpDuringLoad({
                addPod: standIn.addPod,
                replicas: () => standIn.replicas,
                loadStartedAt,
                ...scaleUp,
                log,
              }),
        )
      : undefined;
  const done = Promise.all([running, injected, neighbourLoad, scaled]);
  done.catch(() => undefined);
  const handle = join(state.summaryDir, `k6-loadtest-${config.scenario}-rehearsal`);
  return { handle, startedAt, overrides: Object.keys(overrides), done };
}

/** The outputs, summary and verdict of the ended load test, as `run` and `wait` give them. */
async function endLoad(state: RehearsalState, load: RunningLoad): Promise<StepOutcome> {
  const [outcome, atTime, other, scaleUp] = await load.done;
  // A fault played during the sync ended with it.
  const record = atTime ?? (state.faultDuringSync ? await state.faultDuringSync : undefined);
  state.neighbourLoad = other;
  state.scaleUpRecord = scaleUp;
  const endedAt = new Date().toISOString();
  state.load = outcome;
  state.loadStartedAt = load.startedAt;
  state.loadEndedAt = endedAt;
  state.faultRecord = record;
  const { config } = outcome;
  const failed = outcome.combined.thresholds.filter((t) => !t.ok);
  const result: StepOutcome = {
    outputs: {
      passed: String(outcome.combined.passed),
      thresholds: JSON.stringify(
        outcome.combined.thresholds.map((t) => ({
          metric: t.metric,
          expression: t.expression,
          ok: t.ok,
          value: t.value ?? null,
        })),
      ),
      'summary-path': config.summaryPath,
      'duration-seconds': String(Math.ceil(outcome.combined.testRunDurationMs / 1000)),
      'started-at': load.startedAt,
      'ended-at': endedAt,
    },
    note: `${outcome.combined.passed ? 'passed' : 'FAILED'} ${outcome.combined.thresholds.filter((t) => t.ok).length}/${outcome.combined.thresholds.length} thresholds in ${formatDuration(outcome.combined.testRunDurationMs)} (${changes(load.overrides)}${record ? `; fault: ${record.actions.join(', ')}` : ''})`,
    summary: outcome.sections,
  };
  if (!outcome.combined.passed && config.failOnThresholds) {
    result.failed = `load test ${config.scenario} failed ${failed.length} threshold(s): ${failed
      .map((t) => `${t.metric} ${t.expression} (value ${t.value ?? 'n/a'})`)
      .join(', ')}`;
  }
  return result;
}

/** k6-loadtest: the Node runner (engine: node) through the Ingress stand-in, with the fault; phases run, start, wait. */
export function loadTestHandler(state: RehearsalState): ActionHandler {
  return async ({ inputs, log }) => {
    const phase = (inputs.phase ?? '').trim() || 'run';
    if (phase === 'start') {
      if (state.running)
        throw new Error('k6-loadtest phase start: a load test of this job is already running');
      state.running = await startLoad(state, inputs, log);
      return {
        outputs: { handle: state.running.handle, 'started-at': state.running.startedAt },
        note: `started in the background (${changes(state.running.overrides)}); handle ${state.running.handle}`,
      };
    }
    if (phase === 'wait') {
      const running = state.running;
      if (!running || (inputs.handle ?? '') !== running.handle) {
        return {
          failed: `handle: "${inputs.handle ?? ''}" is not the handle of this job's phase start step`,
        };
      }
      state.running = undefined;
      return endLoad(state, running);
    }
    if (phase !== 'run') return { failed: `phase: "${phase}" is not one of run, start, wait` };
    // No sync inside this load: nothing to wait for before a fault.
    state.rolled.resolve();
    return endLoad(state, await startLoad(state, inputs, log));
  };
}
