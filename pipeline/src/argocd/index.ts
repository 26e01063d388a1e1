/** Argo CD REST client, Dex OIDC exchange and the rollout checks shared by Switchboard's actions. */
export * from './types.js';
export * from './errors.js';
export * from './client.js';
export * from './dex.js';
export * from './auth.js';
export * from './app-state.js';
