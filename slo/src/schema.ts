/**
 * JSON Schema of slo/objectives.yaml. Every `description` doubles as the fix shown to whoever
 * wrote a bad value (see objectives.ts), so write it as advice.
 */
const nameSchema = {
  type: 'string',
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'a lower-case slug such as join-success; it becomes the `slo` label',
} as const;

const descriptionSchema = {
  type: 'string',
  minLength: 10,
  description: 'one sentence a person reading an alert or a dashboard understands',
} as const;

const k6MetricSchema = {
  type: 'string',
  pattern: '^[a-z][a-z0-9_]*$',
  description: 'a k6 custom metric name in snake_case, e.g. phx_join_success',
} as const;

const optionalSchema = {
  type: 'boolean',
  description:
    'true when a window may hold no events of this kind (e.g. no client had to recover): the gate then says "not exercised" instead of "inconclusive"',
} as const;

export const objectivesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'objectives'],
  properties: {
    version: { const: 1, description: 'the file format version; only 1 exists' },
    loadTestObjectives: {
      type: 'array',
      description:
        "objectives only the load test's clients can measure (no Prometheus series): each with name, description, k6 {metric, aggregation} and max",
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'description', 'k6', 'max'],
        properties: {
          name: nameSchema,
          description: descriptionSchema,
          k6: {
            type: 'object',
            additionalProperties: false,
            required: ['metric', 'aggregation'],
            description:
              'the k6 metric the scenario records and the statistic judged: { metric, aggregation }',
            properties: {
              metric: k6MetricSchema,
              aggregation: {
                type: 'string',
                pattern: '^(count|rate|value|avg|min|max|med|p\\(\\d{1,2}(\\.\\d+)?\\))$',
                description:
                  'the k6 statistic compared with max, as the k6 threshold names it: count (Counter), rate (Rate), or avg/min/max/med/p(N) (Trend, in ms)',
              },
            },
          },
          max: {
            type: 'number',
            minimum: 0,
            description:
              "the largest value that passes, in the metric's unit (a count, a ratio, or ms for time Trends)",
          },
          unit: {
            enum: ['count', 'ratio', 'ms'],
            description: 'how values are shown: count (default), ratio or ms',
          },
          optional: optionalSchema,
        },
      },
    },
    objectives: {
      type: 'array',
      minItems: 1,
      description: 'a list of objectives, each with name, description, target, window, sli and (optional) k6',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'description', 'target', 'window', 'sli'],
        properties: {
          name: nameSchema,
          description: descriptionSchema,
          optional: optionalSchema,
          target: {
            type: 'number',
            exclusiveMinimum: 0,
            exclusiveMaximum: 1,
            description: 'the share of good events as a ratio, e.g. 0.999 for 99.9 %',
          },
          window: {
            enum: ['30d'],
            description: 'the compliance window; the burn-rate alert windows are tuned for 30d',
          },
          sli: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            maxProperties: 1,
            description:
              'exactly one of `ratio` (event counters), `latency` (a histogram and a threshold) or `availability` (an up gauge)',
            properties: {
              ratio: {
                type: 'object',
                additionalProperties: false,
                required: ['total'],
                minProperties: 2,
                maxProperties: 2,
                description: '`total` plus exactly one of `good` or `bad`, each a list of counter selectors',
                properties: {
                  good: { $ref: '#/$defs/selectors' },
                  bad: { $ref: '#/$defs/selectors' },
                  total: { $ref: '#/$defs/selectors' },
                },
              },
              latency: {
                type: 'object',
                additionalProperties: false,
                required: ['histogram', 'threshold'],
                description: '`histogram` (metric name without _bucket) and `threshold` in seconds',
                properties: {
                  histogram: {
                    type: 'string',
                    pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$',
                    not: { pattern: '_(bucket|count|sum)$' },
                    description: 'the histogram metric name without the _bucket/_count/_sum suffix',
                  },
                  threshold: {
                    type: 'number',
                    exclusiveMinimum: 0,
                    description: 'seconds; it must be one of the histogram bucket boundaries (le values)',
                  },
                },
              },
              availability: {
                type: 'object',
                additionalProperties: false,
                required: ['up'],
                description:
                  '`up`: a selector of a 0/1 gauge, one series per target, e.g. up{job="switchboard"}',
                properties: {
                  up: {
                    type: 'string',
                    minLength: 1,
                    description:
                      'a series selector of a gauge that is 1 while a target is healthy and 0 otherwise',
                  },
                },
              },
            },
          },
          k6: {
            type: 'object',
            additionalProperties: false,
            required: ['metric'],
            description:
              'the k6 mapping: { metric: <k6 custom metric name> }; leave k6 out when load-test clients cannot observe the SLI',
            properties: {
              metric: k6MetricSchema,
            },
          },
        },
      },
    },
  },
  $defs: {
    selectors: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'a list of counter series selectors, e.g. [\'switchboard_joins_total{result="ok"}\']',
    },
  },
} as const;
