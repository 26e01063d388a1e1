/**
 * Test support for Switchboard's actions: spec-validating in-process fakes of Argo CD and GitHub, the
 * Actions OIDC token endpoint, a harness that runs an action's `run()` (or its dist bundle) with real
 * inputs and reads outputs/summary back, and the validators themselves. Not bundled into any dist.
 */
export * from './spec-violation.js';
export * from './swagger2.js';
export * from './openapi3.js';
export * from './http-fake.js';
export * from './fake-argocd.js';
export * from './fake-github.js';
export * from './fake-actions-oidc.js';
export * from './action-harness.js';
export * from './summary-parse.js';
