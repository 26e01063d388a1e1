// The actions preview.yml uses, for one pull request event: build-image (tags from the event
// payload, as on a runner) and preview-env (its own config reader and runPreview(), against the
// stand-in Argo CD and the stand-in GitHub API). Inputs the step leaves out get the action.yml
// default, evaluated like the runner does; each input the rehearsal changes is listed in the note.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  buildConfiguredImage,
  buildOutputs,
  buildSummary,
  resolveEngine,
} from '../../../actions/build-image/src/build.js';
import { readBuildImageConfig } from '../../../actions/build-image/src/config.js';
import { readPreviewConfig } from '../../../actions/preview-env/src/config.js';
import { runPreview } from '../../../actions/preview-env/src/preview.js';
import { previewSummary } from '../../../actions/preview-env/src/summary.js';
import { ArgoCdClient, resolveArgoCdToken } from '../../../pipeline/src/argocd/index.js';
import { createOctokit, readPullRequestEvent, workflowRunUrl } from '../../../pipeline/src/github/index.js';
import type { RegistryServer } from '../../../testkit/src/index.js';
import { removeImages } from '../../../pipeline/src/image/index.js';
import { zxRunner } from '../zx.js';
import type { ActionHandler } from './player.js';
import type { Teardown } from './teardown.js';
import { interpolate, type Contexts } from './workflow.js';

/** What the preview handlers share with the rehearsal. */
export interface PreviewHandlerState {
  root: string;
  skipImage: boolean;
  registry?: RegistryServer;
  teardown: Teardown;
  /** Every image reference the image job produced: the stand-in's kubelet pulls only these. */
  images: Set<string>;
  /** The event being played: its payload file and the runner's GITHUB_* for it. */
  event: { path: string; env: Record<string, string> };
  contexts: () => Contexts;
}

/** The step's inputs over the action's action.yml defaults (`${{ }}` evaluated), as the runner passes them. */
export function withActionDefaults(
  root: string,
  action: string,
  inputs: Record<string, string>,
  contexts: Contexts,
): Record<string, string> {
  const doc = parse(readFileSync(join(root, 'actions', action, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: unknown }>;
  };
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(doc.inputs ?? {})) {
    if (spec.default !== undefined) out[name] = interpolate(String(spec.default), contexts);
  }
  return { ...out, ...inputs };
}

const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';

/** build-image for a pull request: tags `<head sha>` and `pr-<number>` from the event payload. */
export function previewBuildHandler(state: PreviewHandlerState): ActionHandler {
  return async ({ inputs, log }) => {
    const overrides = {
      'registry-username': '',
      'registry-password': '',
      'tls-verify': 'false',
      'oci-runtime': 'runc',
    };
    const all = withActionDefaults(state.root, 'build-image', inputs, state.contexts());
    const config = readBuildImageConfig(reader({ ...all, ...overrides }), {
      ...state.event.env,
      GITHUB_WORKSPACE: state.root,
    });
    const references = config.tags.map((t) => `${config.image}:${t}`);
    if (state.skipImage || !state.registry) {
      for (const r of references) state.images.add(r);
      return {
        outputs: { tags: references.join('\n') },
        note: `skipped (--skip-image): would build and push ${references.join(', ')}; the pods run the working tree`,
      };
    }
    const built = await buildConfiguredImage(config, await resolveEngine(config), { log });
    for (const r of references) state.images.add(r);
    state.teardown.add(`pulled ${references[0]}`, () => removeImages(references, zxRunner));
    return {
      outputs: buildOutputs(config, built),
      note: `${references.join(', ')} = ${built.pinned} (rehearsal sets ${Object.keys(overrides).join(', ')})`,
      summary: buildSummary(config, built),
    };
  };
}

/** preview-env: the action's lifecycle against the stand-in Argo CD and GitHub. */
export function previewEnvHandler(state: PreviewHandlerState): ActionHandler {
  return async ({ inputs, log }) => {
    // Polled every second instead of 10 s: the stand-in's syncs take seconds.
    const overrides = { 'poll-interval-seconds': '1', 'wait-timeout-seconds': '300' };
    const all = { ...withActionDefaults(state.root, 'preview-env', inputs, state.contexts()), ...overrides };
    const config = readPreviewConfig(reader(all));
    const env = state.event.env;
    const pr = readPullRequestEvent(state.event.path, env.GITHUB_REPOSITORY);
    const token = await resolveArgoCdToken(config.auth, config.server, () =>
      Promise.reject(new Error('no OIDC in the rehearsal')),
    );
    log(`pull_request ${pr.action} #${pr.number} at ${pr.headSha.slice(0, 12)}: Argo CD ${config.server}`);
    const result = await runPreview(
      {
        argocd: new ArgoCdClient({ server: config.server, token }),
        octokit: createOctokit({ token: config.githubToken, baseUrl: config.githubApiUrl }),
      },
      config,
      pr,
      workflowRunUrl(env),
    );
    return {
      outputs: {
        url: result.names.url,
        application: result.names.application,
        'deployment-id': result.deploymentId === undefined ? '' : String(result.deploymentId),
        'comment-id': result.commentId === undefined ? '' : String(result.commentId),
      },
      note: `${result.outcome} ${result.names.application} (${result.names.url})${result.health ? `: ${result.health}` : ''}${result.note ? `: ${result.note}` : ''} (rehearsal sets ${Object.keys(overrides).join(', ')})`,
      summary: previewSummary(result, pr.action),
      ...(result.problem ? { failed: result.problem } : {}),
    };
  };
}
