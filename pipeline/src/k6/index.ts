/** Load-test summaries (file, runner logs, combined), k6-operator TestRun objects, and kubectl. */
export * from './summary.js';
export * from './testrun.js';
export * from './kubectl.js';
