/** git through @actions/exec: fetch branches and commits, worktrees, identity. */
export * from './git.js';
