/** Overlay image pinning, kustomize builds, rendered objects as files, and per-object diffs. */
export * from './image-pin.js';
export * from './build.js';
export * from './objects.js';
export * from './canary.js';
