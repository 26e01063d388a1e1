/**
 * Image building shared by the build-image action and scripts: the buildah library (scripts/lib/image:
 * local base image, Dockerfile builds, pushes -- one implementation, re-exported here), engine selection
 * with docker buildx and podman, tags and OCI labels.
 */
export * from '../../../../scripts/lib/image/index.js';
export * from './engines.js';
export * from './tags.js';
