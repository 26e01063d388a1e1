/**
 * `kustomize edit set image <name>=<newName>@<digest>` without the kustomize binary: edits the
 * kustomization's `images:` entry with the `yaml` library's document API, so comments, key order and
 * the rest of the file stay as they were and the change reviews as a one- or two-line diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from 'yaml';

/** The file names kustomize accepts for a kustomization, in its order of preference. */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** The kustomization file of `dir`; throws naming the directory when there is none. */
export function kustomizationFile(dir: string): string {
  const found = KUSTOMIZATION_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!found) throw new Error(`${dir} has no kustomization.yaml: is it an overlay directory?`);
  return found;
}

/** What to pin. */
export interface ImagePin {
  /** The image name the manifests use, e.g. ghcr.io/switchboard/server. */
  name: string;
  /** Registry name to use instead (kustomize `newName`), e.g. ghcr.io/acme/switchboard. */
  newName?: string;
  /** sha256:<64 hex>. */
  digest: string;
}

/** The outcome of a pin: the file, its text before and after, and whether an entry had to be added. */
export interface PinResult {
  file: string;
  before: string;
  after: string;
  added: boolean;
}

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * Sets `digest` (and `newName`) on the `images:` entry named `pin.name`, dropping `newTag` as kustomize
 * does; appends the entry when there is none. Writes the file and returns both texts.
 */
export function pinImageDigest(overlayDir: string, pin: ImagePin): PinResult {
  if (!DIGEST_PATTERN.test(pin.digest)) {
    throw new Error(`digest "${pin.digest}" is not sha256:<64 hex digits> (use build-image's digest output)`);
  }
  const file = kustomizationFile(overlayDir);
  const before = readFileSync(file, 'utf8');
  const doc = parseDocument(before);
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${file} is not a YAML mapping`);
  let images = doc.get('images', true);
  if (images === undefined || images === null) {
    images = new YAMLSeq();
    doc.set('images', images);
  }
  if (!isSeq(images)) throw new Error(`${file}: images: must be a list`);
  let entry = images.items.find((item) => isMap(item) && item.get('name') === pin.name) as
    YAMLMap | undefined;
  const added = entry === undefined;
  if (!entry) {
    entry = new YAMLMap();
    entry.set('name', pin.name);
    images.items.push(entry);
  }
  if (pin.newName) entry.set('newName', pin.newName);
  entry.delete('newTag');
  entry.set('digest', pin.digest);
  const after = doc.toString();
  writeFileSync(file, after);
  return { file, before, after, added };
}
