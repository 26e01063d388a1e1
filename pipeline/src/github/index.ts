/** GitHub helpers shared by the actions: Octokit setup, one-marked-comment upsert, deployments, PR events. */
export * from './octokit.js';
export * from './comments.js';
export * from './deployments.js';
export * from './event.js';
