import * as core from '@actions/core';
import { ArgoCdClient, resolveArgoCdToken } from '../../../pipeline/src/argocd/index.js';
import { createOctokit, readPullRequestEvent, workflowRunUrl } from '../../../pipeline/src/github/index.js';
import { writeJobSummary } from '../../../pipeline/src/summary/index.js';
import { readPreviewConfig } from './config.js';
import { runPreview } from './preview.js';
import { previewSummary } from './summary.js';

/** The action: read inputs and the PR event, run the preview lifecycle, set outputs and the summary. */
export async function run(): Promise<void> {
  try {
    const config = readPreviewConfig((name) => core.getInput(name));
    const pr = readPullRequestEvent(process.env.GITHUB_EVENT_PATH, process.env.GITHUB_REPOSITORY);
    const token = await resolveArgoCdToken(config.auth, config.server, (audience) =>
      core.getIDToken(audience),
    );
    core.setSecret(token);
    const result = await runPreview(
      {
        argocd: new ArgoCdClient({ server: config.server, token }),
        octokit: createOctokit({ token: config.githubToken, baseUrl: config.githubApiUrl }),
      },
      config,
      pr,
      workflowRunUrl(process.env),
    );
    core.setOutput('url', result.names.url);
    core.setOutput('application', result.names.application);
    core.setOutput('deployment-id', result.deploymentId === undefined ? '' : String(result.deploymentId));
    core.setOutput('comment-id', result.commentId === undefined ? '' : String(result.commentId));
    if (result.outcome === 'skipped') core.info(result.note ?? `pull_request "${pr.action}": nothing to do`);
    await writeJobSummary(core.summary, previewSummary(result, pr.action));
    if (result.problem) core.setFailed(result.problem);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
