// platform/versions.yaml, read and checked: the one list of pinned cluster prerequisites, the k6
// version the load tests run on, and the third-party actions the workflows use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** One cluster prerequisite, pinned. */
export interface PlatformComponent {
  /** Key in versions.yaml, e.g. `external-secrets`. */
  name: string;
  version: string;
  /** GitHub `owner/name` the CRDs are read from. */
  repository: string;
  tag: string;
  /** CRD files at `tag`, repository-relative. */
  crds: string[];
  /** `group/Kind`s whose openAPIV3Schema is extracted for the schema validation. */
  schemas: string[];
  /** The Helm chart version that ships `version`, where it is versioned apart from it. */
  chart?: string;
}

/** The k6 release the load tests run on. */
export interface PinnedK6 {
  version: string;
  repository: string;
  tag: string;
  /** Go file at `tag` that registers the JavaScript modules. */
  modules: string;
  /** The runner image, `grafana/k6:<version without v>@sha256:…`. */
  image: string;
}

/** A third-party action pinned by commit. */
export interface PinnedAction {
  /** `owner/name`. */
  name: string;
  tag: string;
  commit: string;
  runsUsing: string;
}

/** The Node.js line the server image runs on. */
export interface PinnedNode {
  major: number;
  /** The Dockerfile's default BASE_IMAGE. */
  image: string;
  /** Where Node.js publishes its release schedule (nodejs/Release schedule.json). */
  repository: string;
  ref: string;
  schedule: string;
}

export interface Platform {
  components: PlatformComponent[];
  k6: PinnedK6;
  node: PinnedNode;
  actions: PinnedAction[];
}

/** The file, relative to the repository root. */
export const versionsFile = 'platform/versions.yaml';

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${versionsFile}: ${field} must be a non-empty string`);
  }
  return value;
}

function list(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${versionsFile}: ${field} must be a list`);
  return value.map((v, i) => str(v, `${field}[${i}]`));
}

function record(value: unknown, field: string): Map<string, Record<string, unknown>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${versionsFile}: ${field} must be a mapping`);
  }
  // Keys are data: a Map, never a plain object lookup.
  return new Map(Object.entries(value as Record<string, Record<string, unknown>>));
}

/** Parses and checks the text of platform/versions.yaml. */
export function parsePlatform(text: string): Platform {
  const doc = parse(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new Error(`${versionsFile}: not a mapping`);
  const components = [...record(doc.cluster, 'cluster')].map(([name, c]) => ({
    name,
    version: str(c.version, `cluster.${name}.version`),
    repository: str(c.repository, `cluster.${name}.repository`),
    tag: str(c.tag, `cluster.${name}.tag`),
    crds: list(c.crds, `cluster.${name}.crds`),
    schemas: list(c.schemas, `cluster.${name}.schemas`),
    ...(c.chart === undefined ? {} : { chart: str(c.chart, `cluster.${name}.chart`) }),
  }));
  const k6 = record({ k6: doc.k6 }, 'k6').get('k6') ?? {};
  const pinnedK6: PinnedK6 = {
    version: str(k6.version, 'k6.version'),
    repository: str(k6.repository, 'k6.repository'),
    tag: str(k6.tag, 'k6.tag'),
    modules: str(k6.modules, 'k6.modules'),
    image: str(k6.image, 'k6.image'),
  };
  const expected = `grafana/k6:${pinnedK6.version.replace(/^v/, '')}@sha256:`;
  if (!pinnedK6.image.startsWith(expected) || !/@sha256:[0-9a-f]{64}$/.test(pinnedK6.image)) {
    throw new Error(`${versionsFile}: k6.image must be ${expected}<64 hex digits> (the pinned k6 version)`);
  }
  const actions = [...record(doc['github-actions'], 'github-actions')].map(([name, a]) => {
    const commit = str(a.commit, `github-actions.${name}.commit`);
    if (!/^[0-9a-f]{40}$/.test(commit)) {
      throw new Error(`${versionsFile}: github-actions.${name}.commit must be a full commit SHA`);
    }
    return {
      name,
      tag: str(a.tag, `github-actions.${name}.tag`),
      commit,
      runsUsing: str(a['runs-using'], `github-actions.${name}.runs-using`),
    };
  });
  const node = record({ node: doc.node }, 'node').get('node') ?? {};
  const pinnedNode: PinnedNode = {
    major: Number(node.major),
    image: str(node.image, 'node.image'),
    repository: str(node.repository, 'node.repository'),
    ref: str(node.ref, 'node.ref'),
    schedule: str(node.schedule, 'node.schedule'),
  };
  if (!Number.isInteger(pinnedNode.major) || !pinnedNode.image.includes(`:${pinnedNode.major}-`)) {
    throw new Error(`${versionsFile}: node.major must be an integer and node.image a node:<major>-… tag`);
  }
  return { components, k6: pinnedK6, node: pinnedNode, actions };
}

/** Reads platform/versions.yaml under `root`. */
export function loadPlatform(root: string): Platform {
  return parsePlatform(readFileSync(join(root, versionsFile), 'utf8'));
}

/** The component named `name`; throws naming the file when it is missing. */
export function component(platform: Platform, name: string): PlatformComponent {
  const c = platform.components.find((x) => x.name === name);
  if (!c) throw new Error(`${versionsFile}: cluster.${name} is missing`);
  return c;
}
