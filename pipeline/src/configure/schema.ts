// JSON Schema of switchboard.config.yaml. Each `description` is the hint an error message prints,
// so it says what to write, with an example.

const dnsLabel = {
  type: 'string',
  pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
  description: 'a DNS label: lower-case letters, digits and -, at most 63, e.g. acme-staging',
} as const;

const hostname = {
  type: 'string',
  maxLength: 253,
  pattern: '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$',
  description: 'a lower-case DNS name without scheme or port, e.g. chat.acme.dev',
} as const;

const environment = {
  type: 'object',
  additionalProperties: false,
  required: ['namespace'],
  properties: {
    namespace: { ...dnsLabel, description: "the environment's namespace, e.g. acme-staging" },
    host: {
      ...hostname,
      description:
        'the public host; default <environment>.<domain> (production: <domain>), e.g. staging.chat.acme.dev',
    },
    secretKey: {
      type: 'string',
      maxLength: 253,
      pattern: '^[A-Za-z0-9][-A-Za-z0-9_./]*$',
      description: "the key of the environment's secret in the store; default switchboard/<environment>",
    },
  },
} as const;

/** The environments the overlays define (overlays/<name>); the file configures each of them. */
export const environmentNames = ['dev', 'staging', 'production', 'preview'] as const;

/** JSON Schema (draft-07, as ajv compiles it by default) of switchboard.config.yaml. */
export const adopterConfigSchema = {
  type: 'object',
  description: 'a mapping of the settings below (see switchboard.config.yaml in Switchboard)',
  additionalProperties: false,
  required: [
    'repository',
    'image',
    'domain',
    'environments',
    'argocd',
    'prometheus',
    'certManager',
    'secretStore',
  ],
  properties: {
    repository: {
      type: 'string',
      maxLength: 500,
      pattern: '^(https://|ssh://|git@)[^\\s]+$',
      description: 'the Git URL Argo CD reads, e.g. https://github.com/acme/chat.git',
    },
    image: {
      type: 'string',
      maxLength: 255,
      pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+$',
      description:
        'registry/name of the server image in lower case, without tag or digest, e.g. registry.acme.dev/chat/server',
    },
    domain: { ...hostname, description: 'the base domain the hosts derive from, e.g. chat.acme.dev' },
    environments: {
      type: 'object',
      additionalProperties: false,
      required: [...environmentNames],
      properties: Object.fromEntries(environmentNames.map((n) => [n, environment])),
      description: `one entry per overlay: ${environmentNames.join(', ')}`,
    },
    argocd: {
      type: 'object',
      description: 'namespace and project of Argo CD',
      additionalProperties: false,
      required: ['namespace', 'project'],
      properties: {
        namespace: { ...dnsLabel, description: "Argo CD's namespace, e.g. argocd" },
        project: {
          ...dnsLabel,
          description:
            'the AppProject of the environments (the dashboards get <project>-dashboards), e.g. chat',
        },
      },
    },
    prometheus: {
      type: 'object',
      description: 'namespace and labels of kube-prometheus-stack',
      additionalProperties: false,
      required: ['namespace', 'labels'],
      properties: {
        namespace: {
          ...dnsLabel,
          description: "the namespace of Prometheus and Grafana (kube-prometheus-stack's), e.g. monitoring",
        },
        labels: {
          type: 'object',
          minProperties: 1,
          maxProperties: 16,
          propertyNames: {
            maxLength: 253,
            pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$',
          },
          additionalProperties: {
            type: 'string',
            pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$',
            description: 'a label value: at most 63 letters, digits, -, _ and ., e.g. kps',
          },
          description:
            'the labels Prometheus selects ServiceMonitors and PrometheusRules by (kube-prometheus-stack: release: <Helm release>), e.g. { release: kps }',
        },
      },
    },
    certManager: {
      type: 'object',
      description: 'the clusterIssuer of cert-manager',
      additionalProperties: false,
      required: ['clusterIssuer'],
      properties: {
        clusterIssuer: {
          type: 'string',
          maxLength: 253,
          pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
          description: "the cert-manager ClusterIssuer of the Gateway's certificates, e.g. letsencrypt-prod",
        },
      },
    },
    secretStore: {
      type: 'object',
      description: 'kind and name of the External Secrets store',
      additionalProperties: false,
      required: ['kind', 'name'],
      properties: {
        kind: {
          enum: ['ClusterSecretStore', 'SecretStore'],
          description: 'ClusterSecretStore or SecretStore (External Secrets Operator)',
        },
        name: {
          type: 'string',
          maxLength: 253,
          pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
          description: 'the name of the store the environments read their secret from, e.g. vault',
        },
      },
    },
  },
} as const;
