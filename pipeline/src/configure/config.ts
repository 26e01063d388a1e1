// switchboard.config.yaml: what differs between teams that run this pipeline (issue 15, item 1).
// Parsed, schema-checked and normalised here; `npm run configure` applies it (./apply.ts) and
// `npm run validate` compares the rendered manifests with it (./agreement.ts).
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { adopterConfigSchema, environmentNames } from './schema.js';

/** The file `npm run configure` reads, relative to the repository root. */
export const configFile = 'switchboard.config.yaml';

/** Bytes read at most: the file is a page of settings, not data. */
const maxConfigBytes = 64 * 1024;

export type EnvironmentName = (typeof environmentNames)[number];

/** One environment (overlays/<name>) with its defaults filled in. */
export interface EnvironmentConfig {
  namespace: string;
  /** Public host, without scheme. */
  host: string;
  /** Key of the environment's secret in the secret store. */
  secretKey: string;
}

/** switchboard.config.yaml, validated, with defaults filled in. */
export interface AdopterConfig {
  /** Git URL Argo CD reads. */
  repository: string;
  /** registry/name of the server image as the manifests name it (no tag, no digest). */
  image: string;
  domain: string;
  environments: Record<EnvironmentName, EnvironmentConfig>;
  argocd: { namespace: string; project: string };
  /** Namespace of Prometheus and Grafana, and the labels their Prometheus selects rules and monitors by. */
  prometheus: { namespace: string; labels: Map<string, string> };
  certManager: { clusterIssuer: string };
  secretStore: { kind: 'ClusterSecretStore' | 'SecretStore'; name: string };
}

/** A problem in switchboard.config.yaml; `problems` name the field and the fix, one each. */
export class AdopterConfigError extends Error {
  readonly code = 'ERR_ADOPTER_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AdopterConfigError';
  }
}

const validate = new Ajv({ allErrors: true, verbose: true }).compile(adopterConfigSchema);

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}

function fieldName(instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  return parts.length > 0 ? parts.join('.') : '(top level)';
}

function describeSchemaError(err: ErrorObject): string | undefined {
  // A key's own pattern error repeats the propertyNames error that follows it.
  if (err.schemaPath.includes('/propertyNames/')) return undefined;
  const parent = (err.parentSchema ?? {}) as SchemaNode;
  let path = err.instancePath;
  let message = err.message ?? 'is invalid';
  let hint = parent.description;
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    path += `/${missing}`;
    message = 'is missing';
    hint = parent.properties?.[missing]?.description;
  } else if (err.keyword === 'additionalProperties' && parent.properties) {
    path += `/${(err.params as { additionalProperty: string }).additionalProperty}`;
    message = 'is not a known field (check its spelling)';
    hint = `one of ${Object.keys(parent.properties).join(', ')}`;
  } else if (err.keyword === 'propertyNames') {
    message = `${JSON.stringify((err.params as { propertyName: string }).propertyName)} is not a Kubernetes label key`;
  } else if (err.keyword === 'pattern' || err.keyword === 'maxLength') {
    message = `${JSON.stringify(err.data)} is not valid`;
  }
  return `${fieldName(path)}: ${message}${hint ? `; expected ${hint}` : ''}`;
}

interface RawEnvironment {
  namespace: string;
  host?: string;
  secretKey?: string;
}

interface RawConfig extends Omit<AdopterConfig, 'environments' | 'prometheus'> {
  environments: Record<EnvironmentName, RawEnvironment>;
  prometheus: { namespace: string; labels: Record<string, string> };
}

function normalise(raw: RawConfig): AdopterConfig {
  const env = (name: EnvironmentName): EnvironmentConfig => {
    const e = raw.environments[name];
    return {
      namespace: e.namespace,
      host: e.host ?? (name === 'production' ? raw.domain : `${name}.${raw.domain}`),
      secretKey: e.secretKey ?? `switchboard/${name}`,
    };
  };
  return {
    repository: raw.repository,
    image: raw.image,
    domain: raw.domain,
    environments: {
      dev: env('dev'),
      staging: env('staging'),
      production: env('production'),
      preview: env('preview'),
    },
    argocd: { namespace: raw.argocd.namespace, project: raw.argocd.project },
    prometheus: {
      namespace: raw.prometheus.namespace,
      labels: new Map(Object.entries(raw.prometheus.labels)),
    },
    certManager: { clusterIssuer: raw.certManager.clusterIssuer },
    secretStore: { kind: raw.secretStore.kind, name: raw.secretStore.name },
  };
}

/** What a schema cannot say: environments (and the namespaces around them) must not share a name. */
function semanticProblems(config: AdopterConfig): string[] {
  const problems: string[] = [];
  const namespaces = new Map<string, string>([
    [config.argocd.namespace, 'argocd.namespace'],
    [config.prometheus.namespace, 'prometheus.namespace'],
  ]);
  const hosts = new Map<string, string>();
  for (const name of environmentNames) {
    const e = config.environments[name];
    const other = namespaces.get(e.namespace);
    if (other !== undefined)
      problems.push(`environments.${name}.namespace: ${e.namespace} is also ${other}; give each its own`);
    namespaces.set(e.namespace, `environments.${name}.namespace`);
    const sameHost = hosts.get(e.host);
    if (sameHost !== undefined)
      problems.push(`environments.${name}.host: ${e.host} is also ${sameHost}; give each its own`);
    hosts.set(e.host, `environments.${name}.host`);
  }
  return problems;
}

/** Parses and validates the text of switchboard.config.yaml; throws AdopterConfigError naming every problem. */
export function parseAdopterConfig(text: string, file = configFile): AdopterConfig {
  if (Buffer.byteLength(text) > maxConfigBytes)
    throw new AdopterConfigError(file, [
      `the file is over ${maxConfigBytes} bytes; it holds a page of settings`,
    ]);
  // No aliases: a settings file has no use for them, and they could expand without bound.
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new AdopterConfigError(
      file,
      document.errors.map((e) => `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`),
    );
  }
  let doc: unknown;
  try {
    doc = document.toJS({ maxAliasCount: 0 });
  } catch {
    throw new AdopterConfigError(file, [
      'YAML anchors and aliases (&name, *name) are not allowed: write each value out',
    ]);
  }
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).map(describeSchemaError).filter((p) => p !== undefined);
    throw new AdopterConfigError(file, [...new Set(problems)]);
  }
  const config = normalise(doc as unknown as RawConfig);
  const problems = semanticProblems(config);
  if (problems.length > 0) throw new AdopterConfigError(file, problems);
  return config;
}

/** Reads and validates switchboard.config.yaml (or `file`). */
export function loadAdopterConfig(file: string): AdopterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new AdopterConfigError(file, [
      e.code === 'ENOENT'
        ? `there is no such file: copy ${configFile} from Switchboard and edit it`
        : e.message,
    ]);
  }
  return parseAdopterConfig(text, file);
}
