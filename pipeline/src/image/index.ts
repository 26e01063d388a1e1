/**
 * Image building shared by the build-image action and scripts: the buildah library (a local Node
 * base image, Dockerfile builds with buildah, pushes), engine selection with docker buildx and
 * podman, tags and OCI labels.
 */
export {
  buildBase,
  layoutBaseRootfs,
  sharedLibraries,
  type BaseImageOptions,
  type BuiltBase,
} from './base.js';
export {
  buildImage,
  hardNofileLimit,
  imageConfig,
  localDigest,
  podmanRunLimits,
  push,
  removeImages,
  type BuildImageOptions,
  type BuiltImage,
  type ImageConfig,
  type PushOptions,
} from './build.js';
export { ImageToolError, runTool, type ToolOptions } from './exec.js';
export * from './engines.js';
export * from './tags.js';
