#!/usr/bin/env node
// Stand-in for kubectl talking to a cluster with k6-operator (no cluster can run here). It keeps applied
// objects in $FAKE_KUBECTL_STATE/objects.json, logs every call to calls.jsonl, and plays k6-operator:
// each `get testrun` advances status.stage through $FAKE_K6_STAGES (default initialization..finished);
// runner pods are <name>-<i>-<suffix> for i in 1..parallelism with the labels k6-operator sets, and
// `logs` prints $FAKE_K6_LOGS/<i>.log.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const state = process.env.FAKE_KUBECTL_STATE;
if (!state) {
  console.error('FAKE_KUBECTL_STATE is not set');
  process.exit(2);
}
const argv = process.argv.slice(2);
appendFileSync(join(state, 'calls.jsonl'), `${JSON.stringify(argv)}\n`);
const flags = {};
const rest = [];
for (let i = 0; i < argv.length; i++) {
  if (['--namespace', '--context', '--kubeconfig', '-l', '-o', '-f'].includes(argv[i]))
    flags[argv[i]] = argv[++i];
  else rest.push(argv[i]);
}
const ns = flags['--namespace'] ?? 'default';
const file = join(state, 'objects.json');
const objects = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
const save = () => writeFileSync(file, JSON.stringify(objects, null, 2));
const key = (kind, name) => `${ns}/${kind.toLowerCase()}/${name}`;
const fail = (message, code = 1) => {
  console.error(message);
  process.exit(code);
};

const [verb, ...args] = rest;
if (verb === 'apply') {
  if (flags['-f'] !== '-') fail('fake kubectl: only apply -f -');
  const input = readFileSync(0, 'utf8');
  for (const doc of parseAllDocuments(input)) {
    const obj = doc.toJS();
    if (!obj) continue;
    if (obj.metadata.namespace && obj.metadata.namespace !== ns) fail('namespace mismatch');
    objects[key(obj.kind, obj.metadata.name)] = { ...obj, polls: 0 };
    console.log(`${obj.kind.toLowerCase()}/${obj.metadata.name} created`);
  }
  save();
} else if (verb === 'delete') {
  for (const ref of args.filter((a) => !a.startsWith('--'))) {
    const [kind, name] = ref.split('/');
    delete objects[key(kind, name)];
  }
  save();
} else if (verb === 'get' && args[0] === 'testrun') {
  const tr = objects[key('TestRun', args[1])];
  if (!tr) fail(`Error from server (NotFound): testruns.k6.io "${args[1]}" not found`);
  const stages = (process.env.FAKE_K6_STAGES ?? 'initialization,initialized,created,started,finished').split(
    ',',
  );
  const stage = stages[Math.min(tr.polls, stages.length - 1)];
  tr.polls += 1;
  save();
  const conditions =
    stage === 'error'
      ? [
          {
            type: 'TestRunRunning',
            status: 'False',
            reason: 'TestRunFailed',
            message: 'runner job failed',
            lastTransitionTime: new Date().toISOString(),
          },
        ]
      : [];
  const { polls: _polls, ...object } = tr;
  console.log(JSON.stringify({ ...object, status: { stage, conditions } }));
} else if (verb === 'get' && args[0] === 'pods') {
  const selector = flags['-l'] ?? '';
  const name = /k6_cr=([^,]+)/.exec(selector)?.[1];
  const tr = name && objects[key('TestRun', name)];
  const items = [];
  if (tr && /runner=true/.test(selector)) {
    for (let i = 1; i <= tr.spec.parallelism; i++) {
      items.push({
        metadata: { name: `${name}-${i}-x7k2p`, labels: { app: 'k6', k6_cr: name, runner: 'true' } },
      });
    }
  }
  console.log(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
} else if (verb === 'logs') {
  const index = /-(\d+)-x7k2p$/.exec(args[0])?.[1];
  const log = join(process.env.FAKE_K6_LOGS ?? state, `${index}.log`);
  if (!existsSync(log)) fail(`Error from server (NotFound): pods "${args[0]}" not found`);
  process.stdout.write(readFileSync(log, 'utf8'));
} else {
  fail(`fake kubectl: unsupported command ${rest.join(' ')}`, 2);
}
