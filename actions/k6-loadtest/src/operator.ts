import { readFileSync, writeFileSync } from 'node:fs';
import {
  buildTestRunObjects,
  extractSummariesFromLog,
  Kubectl,
  runnerPodSelector,
  type LoadSummary,
  type ManifestObject,
} from '../../../pipeline/src/k6/index.js';
import type { LoadTestConfig, OperatorConfig } from './config.js';

/** Time and logging, injected so tests control them. */
export interface OperatorRuntime {
  now(): number;
  sleep(ms: number): Promise<void>;
  log(message: string): void;
  warn(message: string): void;
}

/** What an operator run produced. */
export interface OperatorResult {
  testRun: string;
  stage: string;
  pods: string[];
  summaries: LoadSummary[];
}

/** The objects the action applies for `config` (exported so tests can check them against the CRD). */
export function operatorObjects(config: LoadTestConfig & { operator: OperatorConfig }): ManifestObject[] {
  const op = config.operator;
  return buildTestRunObjects({
    name: op.name,
    namespace: op.namespace,
    scenario: config.scenario,
    script: readFileSync(config.bundle, 'utf8'),
    parallelism: op.parallelism,
    image: op.image,
    env: {
      ...config.env,
      URL: config.url,
      ...(config.vus !== undefined ? { VUS: String(config.vus) } : {}),
      ...(config.duration ? { DURATION: config.duration } : {}),
    },
    token: config.token,
  });
}

interface TestRunStatus {
  status?: {
    stage?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

/** The TestRun's objects, as `kubectl` addresses them (the TestRun first: deleting it stops its pods). */
function createdObjects(
  config: LoadTestConfig & { operator: OperatorConfig },
  objects?: ManifestObject[],
): string[] {
  const op = config.operator;
  const others = objects
    ? objects.filter((o) => o.kind !== 'TestRun').map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`)
    : [`configmap/${op.name}-script`, `secret/${op.name}-token`];
  return [`testrun/${op.name}`, ...others];
}

/**
 * Replaces a TestRun of the same name and applies ConfigMap, Secret and TestRun; returns at once with
 * what it created (for the cleanup).
 */
export async function startOperatorRun(
  config: LoadTestConfig & { operator: OperatorConfig },
  runtime: OperatorRuntime,
): Promise<string[]> {
  const op = config.operator;
  const kubectl = new Kubectl({ binary: op.kubectl, namespace: op.namespace, context: op.context });
  const objects = operatorObjects(config);
  await kubectl.delete([`testrun/${op.name}`], true);
  const created = createdObjects(config, objects);
  runtime.log(`applying ${created.join(', ')} in namespace ${op.namespace}`);
  await kubectl.apply(objects);
  return created;
}

/**
 * Runs the scenario as a k6-operator TestRun: replaces a TestRun of the same name, applies ConfigMap,
 * Secret and TestRun, waits for stage `finished` or `error`, reads every runner pod's log for the summary
 * JSON, and (cleanup) deletes what it created. Throws when the run errors, times out or leaves no summary.
 */
export async function runWithOperator(
  config: LoadTestConfig & { operator: OperatorConfig },
  runtime: OperatorRuntime,
): Promise<OperatorResult> {
  return awaitOperatorRun(config, runtime, await startOperatorRun(config, runtime));
}

/**
 * Waits for the TestRun `startOperatorRun` applied to reach stage `finished` or `error` (at most
 * timeout-seconds), reads every runner pod's log for the summary JSON, and (cleanup) deletes it all.
 */
export async function awaitOperatorRun(
  config: LoadTestConfig & { operator: OperatorConfig },
  runtime: OperatorRuntime,
  // Without the list (phase wait): every object start may have created; deleting is --ignore-not-found.
  created: string[] = createdObjects(config),
): Promise<OperatorResult> {
  const op = config.operator;
  const kubectl = new Kubectl({ binary: op.kubectl, namespace: op.namespace, context: op.context });
  const testRun = `testrun/${op.name}`;
  try {
    const deadline = runtime.now() + op.timeoutMs;
    let stage = '';
    for (;;) {
      const tr = await kubectl.getJson<TestRunStatus>('testrun', op.name);
      const current = tr.status?.stage ?? 'pending';
      if (current !== stage) runtime.log(`${testRun}: stage ${current}`);
      stage = current;
      if (stage === 'finished' || stage === 'error') break;
      if (runtime.now() >= deadline) {
        throw new Error(
          `${testRun} did not finish within ${op.timeoutMs / 1000}s (stage ${stage}); raise timeout-seconds above the test's duration plus start-up`,
        );
      }
      await runtime.sleep(op.pollIntervalMs);
    }
    const pods = (
      await kubectl.getJson<{ items: { metadata: { name: string } }[] }>(
        'pods',
        undefined,
        runnerPodSelector(op.name),
      )
    ).items.map((p) => p.metadata.name);
    const summaries: LoadSummary[] = [];
    for (const pod of pods.sort()) {
      const found = extractSummariesFromLog(await kubectl.logs(pod), `pod/${pod}`);
      if (found.length === 0)
        runtime.warn(`pod/${pod}: no summary JSON in its log (did k6 reach handleSummary?)`);
      summaries.push(...found.slice(-1));
    }
    if (stage === 'error') {
      const reasons = (await kubectl.getJson<TestRunStatus>('testrun', op.name)).status?.conditions
        ?.filter((c) => c.status === 'True' || /error|fail/i.test(c.reason))
        .map((c) => `${c.type}: ${c.reason} ${c.message}`.trim());
      throw new Error(`${testRun} ended in stage error${reasons?.length ? ` (${reasons.join('; ')})` : ''}`);
    }
    if (summaries.length === 0) {
      throw new Error(
        `${testRun} finished but no runner log held a summary (pods: ${pods.join(', ') || 'none'}); the runners print it to stderr with SUMMARY_PATH=stderr`,
      );
    }
    if (summaries.length < op.parallelism) {
      runtime.warn(`only ${summaries.length} of ${op.parallelism} runners reported a summary`);
    }
    writeFileSync(config.summaryPath, `${JSON.stringify(summaries, null, 2)}\n`);
    return { testRun: op.name, stage, pods, summaries };
  } finally {
    if (op.cleanup) {
      await kubectl.delete(created).catch((error: Error) => runtime.warn(`cleanup failed: ${error.message}`));
    }
  }
}
