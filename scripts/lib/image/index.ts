// Image building for Switchboard: a local Node base image, Dockerfile builds with buildah, pushes.
// Used by scripts/test/image.test.ts and meant for the build-image action (import from here).
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
