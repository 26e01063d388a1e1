/** Prometheus HTTP API client (instant queries with auth headers) and the `headers` input parser. */
export * from './client.js';
export * from './headers.js';
