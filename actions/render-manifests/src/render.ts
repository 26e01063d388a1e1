import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  kustomizeBuild,
  parseObjects,
  pinImageDigest,
  type ImagePin,
  type KustomizeTool,
  type PinResult,
  type RenderedObject,
} from '../../../pipeline/src/kustomize/index.js';
import { actionsExecRunner } from '../../../pipeline/src/runner.js';

/** One overlay, pinned and rendered. */
export interface RenderedOverlay {
  objects: RenderedObject[];
  /** The overlay's kustomization before and after pinning (in the scratch copy; the checkout is untouched). */
  pinned: PinResult;
}

/** Directories never copied into the scratch tree: VCS data, dependencies, earlier renders. */
const SKIP = new Set(['.git', 'node_modules', 'rendered']);

/**
 * Copies the repository (without .git and node_modules) to a scratch directory, pins the image digest in
 * the overlay's images: entry there, and renders the overlay with kustomize. Working on a copy leaves the
 * checkout exactly as the workflow checked it out.
 */
export async function renderPinnedOverlay(
  root: string,
  overlay: string,
  pin: ImagePin,
  tool: KustomizeTool,
): Promise<RenderedOverlay> {
  const scratch = mkdtempSync(join(tmpdir(), 'render-manifests-'));
  try {
    cpSync(root, scratch, { recursive: true, filter: (src) => src === root || !SKIP.has(basename(src)) });
    const dir = resolve(scratch, overlay);
    if (!dir.startsWith(scratch)) throw new Error(`overlay: "${overlay}" is outside the repository`);
    const pinned = pinImageDigest(dir, pin);
    const yaml = await kustomizeBuild(dir, tool, actionsExecRunner);
    const objects = parseObjects(yaml, overlay);
    const reference = `${pin.newName ?? pin.name}@${pin.digest}`;
    if (!yaml.includes(reference)) {
      throw new Error(
        `no rendered container uses ${reference}: is "${pin.name}" the image name in the manifests of ${overlay}?`,
      );
    }
    return { objects, pinned: { ...pinned, file: pinned.file.slice(scratch.length + 1) } };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
