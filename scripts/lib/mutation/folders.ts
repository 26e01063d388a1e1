/**
 * The pure core that `npm run mutate` mutation-tests, one entry per folder. Each folder names the
 * fast unit tests that are run against its mutants (no services, a few seconds each): the slow
 * end-to-end suites cover the same code, but running them once per mutant would take hours.
 */
export interface MutationFolder {
  /** Short name: the report's row and the file name under reports/mutation/. */
  readonly name: string;
  /** Globs (from the repository root) of the files to mutate; `!` excludes. */
  readonly mutate: readonly string[];
  /** Test files run against the mutants (globs from the repository root). */
  readonly testFiles: readonly string[];
  /** Files of the folder left out of mutation, each with the reason. */
  readonly excluded: readonly { readonly file: string; readonly reason: string }[];
}

export const mutationFolders: readonly MutationFolder[] = [
  {
    name: 'server/src/protocol',
    mutate: ['server/src/protocol/**/*.ts'],
    testFiles: [
      'server/test/unit/codec.test.ts',
      'server/test/unit/protocol-*.test.ts',
      // The V1 serializer and vsn negotiation (serializer.ts, v1-codec.ts), and the drain's close reason.
      'server/test/unit/v1-codec.test.ts',
      'server/test/unit/drain.test.ts',
    ],
    excluded: [],
  },
  {
    name: 'server/src/auth',
    mutate: ['server/src/auth/**/*.ts'],
    testFiles: ['server/test/unit/auth.test.ts', 'server/test/unit/auth-*.test.ts'],
    excluded: [],
  },
  {
    name: 'server/src/session/token-bucket',
    mutate: ['server/src/session/token-bucket.ts'],
    testFiles: ['server/test/unit/token-bucket.test.ts'],
    excluded: [],
  },
  {
    name: 'server/src/store/publication-codec',
    mutate: ['server/src/store/publication-codec.ts'],
    testFiles: ['server/test/unit/publication-codec.test.ts', 'server/test/unit/store.test.ts'],
    excluded: [],
  },
  {
    name: 'slo/src',
    mutate: ['slo/src/**/*.ts', '!slo/src/generate.ts', '!slo/src/check.ts'],
    // In this order (Stryker runs a mutant's tests in it and stops at the first failure): the
    // comparisons with the committed files first, as they detect most mutants; dashboards.test.ts,
    // which runs kubectl, last.
    testFiles: [
      'slo/test/unit-generated.test.ts',
      'slo/test/unit-tree.test.ts',
      'slo/test/objectives.test.ts',
      'slo/test/unit-objectives-schema.test.ts',
      'slo/test/unit-promql.test.ts',
      'slo/test/unit-*.test.ts',
      'slo/test/dashboards.test.ts',
    ],
    excluded: [
      {
        file: 'slo/src/generate.ts, slo/src/check.ts',
        reason:
          'command-line entry points that run on import (covered by slo/test/generate.test.ts, which runs them as processes)',
      },
    ],
  },
  {
    name: 'pipeline/src (prometheus, summary, kustomize)',
    mutate: [
      'pipeline/src/prometheus/**/*.ts',
      'pipeline/src/summary/**/*.ts',
      'pipeline/src/kustomize/**/*.ts',
    ],
    testFiles: [
      'pipeline/test/unit-prometheus-client.test.ts',
      'pipeline/test/unit-summary.test.ts',
      'pipeline/test/unit-kustomize.test.ts',
    ],
    excluded: [],
  },
  {
    name: 'pipeline/src/argocd',
    mutate: ['pipeline/src/argocd/**/*.ts'],
    testFiles: ['pipeline/test/argocd-client.test.ts', 'pipeline/test/unit-argocd-*.test.ts'],
    excluded: [],
  },
  {
    name: 'loadtests/lib',
    mutate: ['loadtests/lib/**/*.ts', '!loadtests/lib/k6/**', '!loadtests/lib/thresholds.generated.ts'],
    testFiles: [
      'loadtests/test/config.test.ts',
      'loadtests/test/thresholds.test.ts',
      'loadtests/test/summary.test.ts',
      'loadtests/test/metric-sinks.test.ts',
      'loadtests/test/unit-*.test.ts',
    ],
    excluded: [
      {
        file: 'loadtests/lib/k6/',
        reason: 'imports k6 modules, so it runs only inside k6 (covered by loadtests/test/k6-bundle.test.ts)',
      },
      {
        file: 'loadtests/lib/thresholds.generated.ts',
        reason: 'data generated from slo/objectives.yaml (npm run slo:check keeps it in step)',
      },
    ],
  },
];
