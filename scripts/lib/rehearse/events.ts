// The `github.event` payloads the rehearsal plays preview.yml and loadtest.yml with: GitHub's own
// example payloads (octokit/webhooks v7.6.1, webhooks/README.md) with the rehearsal's repository,
// pull request and commits filled in, each checked against GitHub's own payload schema before use,
// so a workflow condition or an action never reads a field a real event does not have.
import { readFileSync } from 'node:fs';
import type { Ajv } from 'ajv';
import { createAjv, describeAjvErrors } from '../../../pipeline/src/testing/ajv.js';

const dir = new URL('./webhooks/', import.meta.url);
type Json = Record<string, unknown>;

let examples: Map<string, Json> | undefined;
let ajv: Ajv | undefined;

function example(path: string): Json {
  examples ??= new Map(
    Object.entries(JSON.parse(readFileSync(new URL('examples.json', dir), 'utf8')) as Record<string, Json>),
  );
  const found = examples.get(path);
  if (!found) throw new Error(`no vendored example ${path} (scripts/lib/rehearse/webhooks/examples.json)`);
  return structuredClone(found);
}

function validator(): Ajv {
  if (!ajv) {
    ajv = createAjv();
    const schemas = JSON.parse(readFileSync(new URL('schemas.json', dir), 'utf8')) as Record<string, Json>;
    // Each schema under its own $id ("common/user.schema.json", "pull_request$opened"): their $refs name those.
    for (const schema of Object.values(schemas)) ajv.addSchema(schema);
  }
  return ajv;
}

/** Throws, naming every field, when `payload` is not what GitHub sends for the event `schemaId`. */
export function checkEventPayload(schemaId: string, payload: unknown): void {
  const validate = validator().getSchema(schemaId);
  if (!validate) throw new Error(`no vendored schema ${schemaId}`);
  if (!validate(payload)) {
    throw new Error(
      `the ${schemaId} payload does not match GitHub's schema (octokit/webhooks v7.6.1):\n  ${describeAjvErrors(validate.errors).join('\n  ')}`,
    );
  }
}

/** The repository the events come from, `owner/name`. */
function setRepository(target: Json, fullName: string): void {
  const [owner = '', name = ''] = fullName.split('/');
  target.name = name;
  target.full_name = fullName;
  target.html_url = `https://github.com/${fullName}`;
  target.url = `https://api.github.com/repos/${fullName}`;
  (target.owner as Json).login = owner;
}

/** One pull request event. */
export interface PullRequestEventInput {
  action: 'opened' | 'synchronize' | 'closed';
  repository: string;
  number: number;
  headSha: string;
  headRef: string;
  baseSha: string;
  /** synchronize: the head before the push. */
  before?: string;
  /** ISO 8601: when it was opened, pushed or closed. */
  at: string;
}

/** A `pull_request` payload for `input`, valid against GitHub's schema for its action. */
export function pullRequestEvent(input: PullRequestEventInput): Json {
  const payload = example(`pull_request/${input.action}.payload.json`);
  setRepository(payload.repository as Json, input.repository);
  payload.number = input.number;
  const pr = payload.pull_request as Json;
  pr.number = input.number;
  pr.html_url = `https://github.com/${input.repository}/pull/${input.number}`;
  pr.url = `https://api.github.com/repos/${input.repository}/pulls/${input.number}`;
  pr.updated_at = input.at;
  const head = pr.head as Json;
  const base = pr.base as Json;
  // A branch of this repository, not a fork: preview.yml builds previews only for those.
  for (const side of [head, base]) {
    side.repo = structuredClone(payload.repository);
    (side.user as Json).login = input.repository.split('/')[0];
  }
  head.sha = input.headSha;
  head.ref = input.headRef;
  head.label = `${input.repository.split('/')[0]}:${input.headRef}`;
  base.sha = input.baseSha;
  base.ref = 'main';
  base.label = `${input.repository.split('/')[0]}:main`;
  if (input.action === 'closed') {
    // Closed without merging: the preview goes either way.
    Object.assign(pr, {
      state: 'closed',
      closed_at: input.at,
      merged: false,
      merged_at: null,
      merged_by: null,
    });
  }
  if (input.action === 'synchronize') {
    Object.assign(payload, { before: input.before ?? input.baseSha, after: input.headSha });
  }
  checkEventPayload(`pull_request$${input.action}`, payload);
  return payload;
}

/** A `workflow_dispatch` payload: the inputs as GitHub sends them (strings), on `ref`. */
export function workflowDispatchEvent(input: {
  repository: string;
  ref: string;
  workflow: string;
  inputs: Record<string, string>;
}): Json {
  const payload = example('workflow_dispatch/payload.json');
  setRepository(payload.repository as Json, input.repository);
  payload.ref = input.ref;
  payload.workflow = input.workflow;
  payload.inputs = { ...input.inputs };
  checkEventPayload('workflow_dispatch$event', payload);
  return payload;
}
