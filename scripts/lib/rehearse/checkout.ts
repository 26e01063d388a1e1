// The git side of the rehearsal, on throwaway repositories so the working tree's own git is never
// touched: a "checkout" holding this working tree's base/ and overlays/ (what render-manifests reads),
// a bare "origin" it pushes the deploy branch to, and the deploy branch seeded with renders of the
// overlays as committed -- what staging and production "run now" -- so the pipeline's render shows
// a real diff and a rollback has something to restore.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { objectFiles, parseObjects, type RenderedObject } from '../../../pipeline/src/kustomize/index.js';
import { GITHUB_ACTIONS_BOT } from '../../../pipeline/src/git/index.js';
import { publishToDeployBranch } from '../../../actions/render-manifests/src/deploy-branch.js';
import { renderPinnedOverlay } from '../../../actions/render-manifests/src/render.js';
import { $, run } from '../zx.js';

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run($({ cwd, timeout: 60_000 })`git ${args}`);
  return stdout.trim();
}

/** The throwaway repositories. */
export interface RehearsalRepos {
  dir: string;
  /** The checkout render-manifests works in (GITHUB_WORKSPACE of the render jobs). */
  checkout: string;
  /** The bare remote `origin` of the checkout: Argo CD's repoURL stand-in. */
  origin: string;
  remove(): void;
}

/** Copies `dirs` of `root` (the working tree, uncommitted changes included) into a fresh checkout with a bare origin. */
export async function prepareRepos(root: string, dirs: string[], revision: string): Promise<RehearsalRepos> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-rehearse-git-'));
  const origin = join(dir, 'origin.git');
  const checkout = join(dir, 'checkout');
  await run($`git init --quiet --bare --initial-branch main ${origin}`);
  await run($`git init --quiet --initial-branch main ${checkout}`);
  for (const d of dirs) cpSync(join(root, d), join(checkout, d), { recursive: true });
  const id = GITHUB_ACTIONS_BOT;
  await git(checkout, ['add', '--all']);
  await git(checkout, [
    '-c',
    `user.name=${id.name}`,
    '-c',
    `user.email=${id.email}`,
    'commit',
    '--quiet',
    '--message',
    `rehearsal checkout of ${revision}`,
  ]);
  await git(checkout, ['remote', 'add', 'origin', origin]);
  await git(checkout, ['push', '--quiet', 'origin', 'main']);
  return { dir, checkout, origin, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The digest the overlay pins `image` to now (its images: entry). */
export function committedDigest(checkout: string, overlay: string, image: string): string | undefined {
  const k = parse(readFileSync(join(checkout, overlay, 'kustomization.yaml'), 'utf8')) as {
    images?: { name?: string; digest?: string }[];
  };
  return k.images?.find((i) => i.name === image)?.digest;
}

/**
 * Renders each environment's overlay as committed and publishes it to the deploy branch, with the
 * render-manifests code: the state before this pipeline run.
 */
export async function seedDeployBranch(
  repos: RehearsalRepos,
  opts: { environments: string[]; image: string; branch: string; log: (line: string) => void },
): Promise<string[]> {
  const seeded: string[] = [];
  for (const env of opts.environments) {
    const overlay = `overlays/${env}`;
    const digest = committedDigest(repos.checkout, overlay, opts.image);
    if (!digest) {
      opts.log(`seed: ${overlay} pins no digest for ${opts.image}; not seeded`);
      continue;
    }
    const rendered = await renderPinnedOverlay(
      repos.checkout,
      overlay,
      { name: opts.image, digest },
      'kubectl',
    );
    const result = await publishToDeployBranch({
      repoDir: repos.checkout,
      remote: 'origin',
      branch: opts.branch,
      path: `rendered/${env}`,
      content: { files: objectFiles(rendered.objects) },
      message: () =>
        `render(${env}): ${opts.image}@${digest.slice(0, 19)} (as committed; seeded by the rehearsal)`,
      identity: GITHUB_ACTIONS_BOT,
      push: true,
    });
    seeded.push(`${env} ${result.commit?.slice(0, 12)} (${opts.image}@${digest.slice(0, 19)}...)`);
  }
  return seeded;
}

/** The tip of `branch` on the bare origin. */
export async function branchTip(repos: RehearsalRepos, branch: string): Promise<string> {
  return git(repos.origin, ['rev-parse', `refs/heads/${branch}`]);
}

/**
 * What Argo CD reads: every YAML file under `path` at `revision` of the origin (directory.recurse),
 * parsed into objects.
 */
export async function readRenderedObjects(
  repos: RehearsalRepos,
  revision: string,
  path: string,
): Promise<{ commit: string; objects: RenderedObject[] }> {
  const commit = await git(repos.origin, ['rev-parse', `${revision}^{commit}`]);
  const files = (await git(repos.origin, ['ls-tree', '-r', '--name-only', commit, '--', path]))
    .split('\n')
    .filter((f) => /\.(ya?ml|json)$/.test(f));
  if (files.length === 0)
    throw new Error(`the deploy branch has no manifests under ${path} at ${commit.slice(0, 12)}`);
  const objects: RenderedObject[] = [];
  for (const f of files)
    objects.push(...parseObjects(await git(repos.origin, ['show', `${commit}:${f}`]), f));
  return { commit, objects };
}
