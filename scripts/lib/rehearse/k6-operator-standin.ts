// The stand-in for the cluster's API server and k6-operator (the pinned v1.6.0, platform/versions.yaml)
// behind the kubectl that k6-loadtest's operator mode runs. The action's own code (runWithOperator)
// runs `kubectl apply/get/logs/delete`; its `kubectl` input points at a small executable written here
// that forwards each call to this server. On apply, a TestRun is checked as the API server (the pinned
// CRD's schema) and the pinned k6 would: the runner image must be the pinned k6 and its script may
// import only what that k6 has (platform/k6-modules.json) -- k6-operator's initializer runs `k6 inspect`
// on the script first, so a bad import ends the run in stage `error`. An accepted TestRun's runners
// run the scenario on the Node runner (same scenario, thresholds and summary), each with its share of
// the VUs, and print the summary JSON as k6's handleSummary does with SUMMARY_PATH=stderr.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runScenario } from '../../../loadtests/src/runner.js';
import { renderSummaryTable } from '../../../loadtests/lib/summary.js';
import { checkTestRuns } from '../../../pipeline/src/validate/policies/k6.js';
import { validateObjectSchema } from '../../../pipeline/src/validate/schema.js';
import type { K8sObject, Problem } from '../../../pipeline/src/validate/index.js';

/** What the stand-in saw of one TestRun. */
export interface TestRunRecord {
  name: string;
  namespace: string;
  image: string;
  parallelism: number;
  stage: 'initialization' | 'started' | 'finished' | 'error';
  /** Why it ended in `error` (problems of the image or the script). */
  problems: Problem[];
  pods: { name: string; log: string }[];
  conditions: { type: string; status: string; reason: string; message: string }[];
}

interface Answer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const notFound = (kind: string, name: string): Answer => ({
  exitCode: 1,
  stdout: '',
  stderr: `Error from server (NotFound): ${kind} "${name}" not found\n`,
});

/** Bounded: one kubectl call's stdin (the applied objects hold the bundle, ~1 MiB at most). */
const maxBodyBytes = 8 * 1024 * 1024;

/** The stand-in API server with k6-operator; `kubectl` is the path of the executable to hand the action. */
export class StandInK6Operator {
  readonly testRuns = new Map<string, TestRunRecord>();
  /** Every TestRun applied, deleted ones too (the action deletes its TestRun after reading the logs). */
  readonly history: TestRunRecord[] = [];
  /** Objects by `kind/name` (ConfigMaps, Secrets, TestRuns) as applied. */
  private readonly objects = new Map<string, K8sObject>();
  private readonly running = new Set<Promise<void>>();
  private server?: Server;
  private dir = '';
  kubectl = '';

  constructor(
    private readonly opts: {
      /** In-cluster Service URL -> where the stand-in serves it (ws://switchboard:4000/socket -> nginx). */
      serviceUrls: Map<string, string>;
      log: (line: string) => void;
    },
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
        if (body.length > maxBodyBytes) req.destroy();
      });
      req.on('end', () => {
        void this.handle(JSON.parse(body) as { args: string[]; stdin: string })
          .catch((err: Error) => ({ exitCode: 1, stdout: '', stderr: `${err.message}\n` }))
          .then((answer) => res.end(JSON.stringify(answer)));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.dir = mkdtempSync(join(tmpdir(), 'sb-kubectl-'));
    this.kubectl = join(this.dir, 'kubectl');
    // Plain JavaScript for this node: no loader needed; stdin is read only for `apply -f -`.
    writeFileSync(
      this.kubectl,
      `#!${process.execPath}
const args = process.argv.slice(2);
const chunks = [];
const send = async () => {
  const stdin = Buffer.concat(chunks).toString();
  const res = await fetch(${JSON.stringify(url)}, { method: 'POST', body: JSON.stringify({ args, stdin }) });
  const a = await res.json();
  process.stdout.write(a.stdout);
  process.stderr.write(a.stderr);
  process.exitCode = a.exitCode;
};
if (args.includes('-f') && args.includes('-')) {
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => void send());
} else void send();
`,
    );
    chmodSync(this.kubectl, 0o755);
  }

  /** Waits for runners still going, then stops. */
  async stop(): Promise<void> {
    await Promise.all(this.running);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async handle({ args, stdin }: { args: string[]; stdin: string }): Promise<Answer> {
    const rest = [...args];
    let namespace = 'default';
    const at = rest.indexOf('--namespace');
    if (at >= 0) namespace = rest.splice(at, 2)[1] ?? namespace;
    const [verb, ...more] = rest;
    if (verb === 'apply') return this.apply(namespace, stdin);
    if (verb === 'delete') {
      for (const ref of more.filter((a) => !a.startsWith('--'))) {
        const [kind = '', name = ''] = ref.split('/');
        const key = `${kind.toLowerCase()}/${name}`;
        this.objects.delete(key);
        if (kind.toLowerCase() === 'testrun') this.testRuns.delete(name);
      }
      return { exitCode: 0, stdout: '', stderr: '' };
    }
    if (verb === 'get' && more[0] === 'testrun') {
      const run = this.testRuns.get(more[1] ?? '');
      if (!run) return notFound('testruns.k6.io', more[1] ?? '');
      return {
        exitCode: 0,
        stdout: JSON.stringify({ status: { stage: run.stage, conditions: run.conditions } }),
        stderr: '',
      };
    }
    if (verb === 'get' && more[0] === 'pods') {
      const selector = more[more.indexOf('-l') + 1] ?? '';
      const name = /k6_cr=([^,]+)/.exec(selector)?.[1] ?? '';
      const pods = this.testRuns.get(name)?.pods ?? [];
      return {
        exitCode: 0,
        stdout: JSON.stringify({ items: pods.map((p) => ({ metadata: { name: p.name } })) }),
        stderr: '',
      };
    }
    if (verb === 'logs') {
      for (const run of this.testRuns.values()) {
        const pod = run.pods.find((p) => p.name === more[0]);
        if (pod) return { exitCode: 0, stdout: pod.log, stderr: '' };
      }
      return notFound('pods', more[0] ?? '');
    }
    return { exitCode: 1, stdout: '', stderr: `the stand-in kubectl does not do: ${args.join(' ')}\n` };
  }

  private async apply(namespace: string, stream: string): Promise<Answer> {
    const docs = parseAllDocuments(stream)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => !!o);
    for (const o of docs) {
      o.metadata.namespace ??= namespace;
      const problems = await validateObjectSchema(
        { target: 'kubectl apply', objects: docs, requireDigests: false },
        o,
      );
      if (problems.length > 0) {
        return {
          exitCode: 1,
          stdout: '',
          stderr: `The ${o.kind} "${o.metadata.name}" is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}\n`,
        };
      }
    }
    const out: string[] = [];
    for (const o of docs) {
      this.objects.set(`${o.kind.toLowerCase()}/${o.metadata.name}`, o);
      out.push(`${o.kind.toLowerCase()}/${o.metadata.name} created`);
      if (o.kind === 'TestRun') this.startTestRun(o);
    }
    return { exitCode: 0, stdout: `${out.join('\n')}\n`, stderr: '' };
  }

  private startTestRun(run: K8sObject): void {
    const spec = run.spec as {
      parallelism?: number;
      script?: { configMap?: { name?: string } };
      runner?: {
        image?: string;
        env?: {
          name: string;
          value?: string;
          valueFrom?: { secretKeyRef?: { name: string; key: string } };
        }[];
      };
    };
    const name = run.metadata.name;
    const parallelism = spec.parallelism ?? 1;
    const configMap = this.objects.get(`configmap/${spec.script?.configMap?.name ?? ''}`);
    const problems = checkTestRuns({
      target: `testrun/${name}`,
      objects: [run, ...(configMap ? [configMap] : [])],
      requireDigests: false,
    });
    const record: TestRunRecord = {
      name,
      namespace: run.metadata.namespace ?? '',
      image: spec.runner?.image ?? '',
      parallelism,
      stage: 'initialization',
      problems,
      pods: [],
      conditions: [],
    };
    this.testRuns.set(name, record);
    this.history.push(record);
    if (problems.length > 0) {
      record.stage = 'error';
      record.conditions = problems.map((p) => ({
        type: 'TestRunRunning',
        status: 'False',
        reason: p.field.startsWith('spec.runner.image') ? 'RunnerImageError' : 'ScriptImportError',
        message: `${p.field}: ${p.message}`,
      }));
      this.opts.log(`k6-operator: ${name} stage error: ${problems.map((p) => p.message).join('; ')}`);
      return;
    }
    const env: Record<string, string> = {};
    for (const e of spec.runner?.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        const secret = this.objects.get(`secret/${ref.name}`) as
          { stringData?: Record<string, string> } | undefined;
        env[e.name] = secret?.stringData?.[ref.key] ?? '';
      } else env[e.name] = e.value ?? '';
    }
    const url = env.URL ?? '';
    const mapped = this.opts.serviceUrls.get(url) ?? url;
    const vus = Number(env.VUS ?? '1');
    record.stage = 'started';
    this.opts.log(
      `k6-operator: ${name}: ${parallelism} runner(s) of ${record.image}, ${vus} VUs in total, ${url} -> ${mapped}`,
    );
    const job = Promise.all(
      Array.from({ length: parallelism }, async (_, i) => {
        // k6's execution segments: runner i of n gets the VUs between i/n and (i+1)/n.
        const share = Math.floor(((i + 1) * vus) / parallelism) - Math.floor((i * vus) / parallelism);
        const pod = { name: `${name}-${i + 1}-rehearsal`, log: '' };
        record.pods.push(pod);
        const { URL: _u, VUS: _v, DURATION: duration, TOKEN: token, SUMMARY_PATH: _s, ...rest } = env;
        const summary = await runScenario({
          scenario: (run.metadata.labels ?? {})['switchboard.dev/scenario'] ?? 'fanout',
          url: mapped,
          token,
          vus: Math.max(1, share),
          duration,
          env: rest,
          onProgress: (line) => (pod.log += `${line}\n`),
        });
        pod.log += `${renderSummaryTable(summary)}\n${JSON.stringify(summary, null, 2)}\n`;
      }),
    )
      .then(() => {
        record.stage = 'finished';
      })
      .catch((err: Error) => {
        record.stage = 'error';
        record.conditions.push({
          type: 'TestRunRunning',
          status: 'False',
          reason: 'RunnerFailed',
          message: err.message,
        });
      })
      .finally(() => this.running.delete(job));
    this.running.add(job);
  }
}
