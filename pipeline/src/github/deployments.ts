import type { Octokit } from '@octokit/rest';

/** A deployment to record on GitHub. */
export interface DeploymentRecordOptions {
  owner: string;
  repo: string;
  /** What was deployed: use the commit SHA so GitHub links the exact commit. */
  ref: string;
  environment: string;
  /** Shown as the environment's link ("View deployment"). */
  environmentUrl?: string;
  /** Link to the workflow run that deployed. */
  logUrl?: string;
  description?: string;
  /** Environment that goes away (previews): GitHub shows it as destroyed when inactive. */
  transient?: boolean;
  production?: boolean;
  /** Deployment status state; default `success`. */
  state?: 'success' | 'in_progress' | 'queued' | 'pending' | 'failure' | 'error';
}

/** Ids of what {@link recordDeployment} created. */
export interface RecordedDeployment {
  deploymentId: number;
  statusId: number;
}

/**
 * Creates a deployment (no auto-merge, no required status checks: the commit is already built) and
 * its first status with the environment URL.
 */
export async function recordDeployment(
  octokit: Octokit,
  options: DeploymentRecordOptions,
): Promise<RecordedDeployment> {
  const created = await octokit.rest.repos.createDeployment({
    owner: options.owner,
    repo: options.repo,
    ref: options.ref,
    environment: options.environment,
    auto_merge: false,
    required_contexts: [],
    transient_environment: options.transient ?? false,
    production_environment: options.production ?? false,
    ...(options.description ? { description: options.description } : {}),
  });
  if (created.status !== 201 || !('id' in created.data)) {
    const message = 'message' in created.data ? String(created.data.message) : `status ${created.status}`;
    throw new Error(`GitHub did not create the deployment for ${options.environment}: ${message}`);
  }
  const deploymentId = created.data.id;
  const status = await octokit.rest.repos.createDeploymentStatus({
    owner: options.owner,
    repo: options.repo,
    deployment_id: deploymentId,
    state: options.state ?? 'success',
    ...(options.environmentUrl ? { environment_url: options.environmentUrl } : {}),
    ...(options.logUrl ? { log_url: options.logUrl } : {}),
    ...(options.description ? { description: truncate(options.description, 140) } : {}),
  });
  return { deploymentId, statusId: status.data.id };
}

/**
 * Marks every deployment of `environment` inactive (GitHub shows transient ones as destroyed).
 * Deployments whose latest status is already `inactive` are left alone, so re-running is harmless.
 * Returns the ids of deployments marked now, newest first.
 */
export async function deactivateEnvironment(
  octokit: Octokit,
  options: { owner: string; repo: string; environment: string; description?: string; logUrl?: string },
): Promise<number[]> {
  const deployments = await octokit.paginate(octokit.rest.repos.listDeployments, {
    owner: options.owner,
    repo: options.repo,
    environment: options.environment,
    per_page: 100,
  });
  const marked: number[] = [];
  for (const deployment of deployments) {
    const { data: latest } = await octokit.rest.repos.listDeploymentStatuses({
      owner: options.owner,
      repo: options.repo,
      deployment_id: deployment.id,
      per_page: 1,
    });
    if (latest[0]?.state === 'inactive') continue;
    await octokit.rest.repos.createDeploymentStatus({
      owner: options.owner,
      repo: options.repo,
      deployment_id: deployment.id,
      state: 'inactive',
      ...(options.logUrl ? { log_url: options.logUrl } : {}),
      ...(options.description ? { description: truncate(options.description, 140) } : {}),
    });
    marked.push(deployment.id);
  }
  return marked;
}

/** GitHub rejects deployment status descriptions over 140 characters. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
