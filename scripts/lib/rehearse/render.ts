// Pins the overlay to the pushed image and renders it, without touching the working tree: base/ and
// overlays/ are copied to a temp dir, the overlay's `images:` entry gets the registry name and
// digest (what promotion changes), and `kubectl kustomize` renders the copy. Then the rendered
// objects go through `npm run validate`'s schema checks and review policies.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import {
  formatProblem,
  renderObjects,
  validateObjects,
  type K8sObject,
  type Problem,
} from '../validate/index.js';

/** The image to pin: the name the overlay uses, and where and what it is now. */
export interface ImagePin {
  /** The `images[].name` in the overlay, e.g. ghcr.io/switchboard/server. */
  name: string;
  /** The registry repository it was pushed to, e.g. 127.0.0.1:5000/switchboard/server. */
  newName: string;
  /** sha256:<64 hex> from the push. */
  digest: string;
}

/** What rendering produced. */
export interface RenderedOverlay {
  overlay: string;
  objects: K8sObject[];
  /** The pinned image reference the Deployment now names. */
  image: string;
  problems: Problem[];
  /** The `images:` entry as written into the overlay copy. */
  imagesEntry: string;
}

/** Sets (or adds) the overlay's `images:` entry for `pin.name`, keeping everything else as written. */
export function pinImage(kustomization: string, pin: ImagePin): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(pin.digest)) {
    throw new Error(`digest "${pin.digest}" is not sha256:<64 hex>: pin the digest the push returned`);
  }
  const doc = parseDocument(kustomization);
  const images = (doc.get('images') as { items?: unknown[] } | undefined)?.items;
  const entry = { name: pin.name, newName: pin.newName, digest: pin.digest };
  const list = (doc.toJS() as { images?: { name?: string }[] }).images ?? [];
  const index = list.findIndex((i) => i.name === pin.name);
  if (images && index >= 0) doc.setIn(['images', index], doc.createNode(entry));
  else doc.set('images', doc.createNode([...list, entry]));
  return doc.toString();
}

/** Copies base/ and overlays/ to a temp dir, pins `overlay` to the image, renders and validates it. */
export async function renderPinnedOverlay(
  root: string,
  overlay: string,
  pin: ImagePin,
): Promise<RenderedOverlay> {
  const work = mkdtempSync(join(tmpdir(), 'sb-rehearse-render-'));
  try {
    for (const dir of ['base', 'overlays']) cpSync(join(root, dir), join(work, dir), { recursive: true });
    const file = join(work, overlay, 'kustomization.yaml');
    writeFileSync(file, pinImage(readFileSync(file, 'utf8'), pin));
    const objects = await renderObjects(overlay, work);
    const problems = await validateObjects({ target: overlay, objects, requireDigests: true });
    const image = `${pin.newName}@${pin.digest}`;
    const deployment = JSON.stringify(objects.filter((o) => o.kind === 'Deployment'));
    if (!deployment.includes(image)) {
      throw new Error(
        `the rendered ${overlay} does not run ${image}: is "${pin.name}" the overlay's image name?`,
      );
    }
    return {
      overlay,
      objects,
      image,
      problems,
      imagesEntry: `- name: ${pin.name}\n  newName: ${pin.newName}\n  digest: ${pin.digest}`,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One line per validation problem, as `npm run validate` prints them. */
export function formatProblems(problems: Problem[]): string {
  return problems.map(formatProblem).join('\n');
}
