// Builds the committed data extracts of platform/ from snapshots of the upstream repositories at the
// pinned tags: served API versions per kind (served-apis.json), the schemas validation needs
// (schemas/*.json), k6's module list (k6-modules.json); and checks each pinned action's commit and
// runtime. Only data is extracted, with repository, tag, commit and path beside it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kindSchemas, parseCrds, servedKind, type ServedKind } from './crd.js';
import { parseK6Modules, type K6ModulesFile } from './k6-modules.js';
import type { Platform, PlatformComponent } from './versions.js';
import { runChecked, type Runner } from '../runner.js';

/** Where an extracted fact came from. */
export interface Source {
  repository: string;
  tag: string;
  commit: string;
  path: string;
}

/** platform/served-apis.json. */
export interface ServedApisFile {
  generatedBy: string;
  /** `group/Kind` -> what the pinned component serves, and where that was read. */
  kinds: Record<string, ServedKind & { component: string; version: string; source: Source }>;
}

/** platform/schemas/<group>_<Kind>_<version>.json. */
export interface SchemaFile {
  generatedBy: string;
  group: string;
  kind: string;
  version: string;
  source: Source;
  openAPIV3Schema: Record<string, unknown>;
}

/** platform/node-schedule.json: each Node.js major's LTS and end-of-life dates. */
export interface NodeScheduleFile {
  source: Source;
  /** `v24` -> dates (YYYY-MM-DD). */
  lines: Record<string, { start: string; lts?: string; maintenance?: string; end: string }>;
}

export interface Extracts {
  served: ServedApisFile;
  nodeSchedule: NodeScheduleFile;
  /** File name under platform/schemas/ -> content. */
  schemas: Map<string, SchemaFile>;
  k6Modules: K6ModulesFile;
}

const generatedBy = 'npm run platform:extract (scripts/platform-extract.ts) from platform/versions.yaml';

/** Reads files of a repository snapshot: `<mirror>/<owner>+<name>/repo` (a bare git directory). */
export class Snapshot {
  readonly gitDir: string;
  constructor(
    mirror: string,
    readonly repository: string,
    private readonly runner: Runner,
  ) {
    this.gitDir = join(mirror, repository.replace('/', '+'), 'repo');
    if (!existsSync(this.gitDir)) {
      throw new Error(`no snapshot of ${repository} at ${this.gitDir}: fetch github:${repository} first`);
    }
  }

  private async git(args: string[]): Promise<string> {
    return (await runChecked(this.runner, 'git', [`--git-dir=${this.gitDir}`, ...args])).stdout;
  }

  /** The commit a tag points to. */
  async commit(tag: string): Promise<string> {
    return (await this.git(['rev-parse', '--verify', `${tag}^{commit}`])).trim();
  }

  /** A file's text at a ref. */
  async show(ref: string, path: string): Promise<string> {
    try {
      return await this.git(['show', `${ref}:${path}`]);
    } catch {
      throw new Error(`${this.repository}: ${path} does not exist at ${ref}`);
    }
  }
}

/** What one component's CRDs add to served-apis.json and platform/schemas/. */
export interface ComponentExtracts {
  kinds: ServedApisFile['kinds'];
  schemas: Map<string, SchemaFile>;
}

/**
 * The served kinds and wanted schemas of one pinned component, from its snapshot under `mirror`;
 * `runner` runs git.
 */
export async function extractComponent(
  c: PlatformComponent,
  mirror: string,
  runner: Runner,
): Promise<ComponentExtracts> {
  const kinds: ServedApisFile['kinds'] = {};
  const schemas = new Map<string, SchemaFile>();
  if (c.crds.length === 0) return { kinds, schemas };
  const snap = new Snapshot(mirror, c.repository, runner);
  const commit = await snap.commit(c.tag);
  const wanted = new Set(c.schemas);
  for (const path of c.crds) {
    const source = { repository: c.repository, tag: c.tag, commit, path };
    for (const crd of parseCrds(await snap.show(commit, path), `${c.repository}@${c.tag}:${path}`)) {
      const kind = servedKind(crd);
      kinds[`${kind.group}/${kind.kind}`] = { ...kind, component: c.name, version: c.version, source };
      if (!wanted.delete(`${kind.group}/${kind.kind}`)) continue;
      for (const s of kindSchemas(crd)) {
        schemas.set(`${s.group}_${s.kind}_${s.version}.json`, { generatedBy, ...s, source });
      }
    }
  }
  if (wanted.size > 0) {
    throw new Error(`cluster.${c.name}.schemas names ${[...wanted].join(', ')}: no such kind in its crds`);
  }
  return { kinds, schemas };
}

/**
 * served-apis.json with `component`'s kinds replaced by `kinds`, every kind in the order a full
 * extraction writes them (components in versions.yaml order, each one's kinds in its CRDs' order).
 */
export function mergeServed(
  platform: Platform,
  current: ServedApisFile,
  component: string,
  kinds: ServedApisFile['kinds'],
): ServedApisFile {
  const entries = [
    ...Object.entries(current.kinds).filter(([, k]) => k.component !== component),
    ...Object.entries(kinds),
  ];
  const rank = new Map(platform.components.map((c, i) => [c.name, i]));
  const order = (name: string) => rank.get(name) ?? rank.size;
  // Array.prototype.sort is stable: within a component the CRDs' order stays.
  entries.sort(([, a], [, b]) => order(a.component) - order(b.component));
  return { generatedBy, kinds: Object.fromEntries(entries) };
}

/** Every extract, from snapshots under `mirror`; `runner` runs git. */
export async function extractPlatform(platform: Platform, mirror: string, runner: Runner): Promise<Extracts> {
  const served: ServedApisFile = { generatedBy, kinds: {} };
  const schemas = new Map<string, SchemaFile>();
  for (const c of platform.components) {
    const one = await extractComponent(c, mirror, runner);
    Object.assign(served.kinds, one.kinds);
    for (const [name, schema] of one.schemas) schemas.set(name, schema);
  }
  const k6 = platform.k6;
  const k6Snap = new Snapshot(mirror, k6.repository, runner);
  const k6Commit = await k6Snap.commit(k6.tag);
  const k6Modules: K6ModulesFile = {
    source: { repository: k6.repository, tag: k6.tag, commit: k6Commit, path: k6.modules },
    ...parseK6Modules(await k6Snap.show(k6Commit, k6.modules)),
  };
  await checkActions(platform, mirror, runner);
  const node = platform.node;
  const nodeSnap = new Snapshot(mirror, node.repository, runner);
  const nodeCommit = await nodeSnap.commit(node.ref);
  const schedule = JSON.parse(await nodeSnap.show(nodeCommit, node.schedule)) as NodeScheduleFile['lines'];
  const lines: NodeScheduleFile['lines'] = {};
  for (const [line, d] of Object.entries(schedule)) {
    if (/^v\d+$/.test(line))
      lines[line] = { start: d.start, lts: d.lts, maintenance: d.maintenance, end: d.end };
  }
  const nodeSchedule: NodeScheduleFile = {
    source: { repository: node.repository, tag: node.ref, commit: nodeCommit, path: node.schedule },
    lines,
  };
  return { served, schemas, k6Modules, nodeSchedule };
}

/** Each pinned action's tag is its commit, and its action.yml runs on the recorded runtime. */
export async function checkActions(platform: Platform, mirror: string, runner: Runner): Promise<void> {
  for (const a of platform.actions) {
    const snap = new Snapshot(mirror, a.name, runner);
    const commit = await snap.commit(a.tag);
    if (commit !== a.commit)
      throw new Error(`${a.name}: tag ${a.tag} is ${commit}, versions.yaml says ${a.commit}`);
    let meta: string;
    try {
      meta = await snap.show(commit, 'action.yml');
    } catch {
      meta = await snap.show(commit, 'action.yaml');
    }
    const using = (parse(meta) as { runs?: { using?: string } }).runs?.using;
    if (using !== a.runsUsing) {
      throw new Error(`${a.name}@${a.tag}: runs.using is ${using}, versions.yaml says ${a.runsUsing}`);
    }
  }
}
