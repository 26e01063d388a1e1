// Every rule of the objectives schema, one bad value at a time: the problem names the field, what
// is wrong and (from the schema's description) what belongs there; valid latency and bad-event
// SLIs are normalised. objectives.test.ts covers the committed file and the PromQL checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObjectivesError, parseObjectives } from '../src/objectives.js';
import { problems, validObjectives as valid } from './support/objectives-text.js';

const ratio = /ratio:\n.*\n.*\n/;
const at = 'objectives[0] (join-success) field';

test('the error names the file and lists every problem', () => {
  try {
    parseObjectives('version: 2\nobjectives: []\n', 'my/objectives.yaml');
    assert.fail('expected the objectives to be rejected');
  } catch (e) {
    assert.ok(e instanceof ObjectivesError);
    assert.equal(e.name, 'ObjectivesError');
    assert.equal(e.file, 'my/objectives.yaml');
    assert.equal(
      e.message,
      'my/objectives.yaml is not valid:\n' +
        '  - version: must be equal to constant; expected the file format version; only 1 exists\n' +
        '  - objectives: must NOT have fewer than 1 items; expected a list of objectives, each with name, description, target, window, sli and (optional) k6',
    );
  }
});

test('top level: the version, the objectives list, no other field', () => {
  assert.deepEqual(problems(`${valid}extra: 1\n`), [
    'extra: is not a known field (check its spelling); expected one of version, loadTestObjectives, objectives',
  ]);
  assert.deepEqual(problems('version: 1\n'), [
    'objectives: is missing; expected a list of objectives, each with name, description, target, window, sli and (optional) k6',
  ]);
  assert.deepEqual(problems('[]\n'), ['(top level): must be object']);
  assert.deepEqual(problems('version: 1\nobjectives:\n  - 3\n'), ['objectives[0]: must be object']);
});

test('an objective: name, description, target, window and no unknown field', () => {
  const cases: [string, string, string][] = [
    [
      'name: join-success',
      'name: Join_success',
      'objectives[0] (Join_success) field "name": must match pattern "^[a-z][a-z0-9-]{0,62}$"; expected a lower-case slug such as join-success; it becomes the `slo` label',
    ],
    [
      'description: Channel joins answered with status ok.',
      'description: short',
      `${at} "description": must NOT have fewer than 10 characters; expected one sentence a person reading an alert or a dashboard understands`,
    ],
    [
      'target: 0.999',
      'target: 0',
      `${at} "target": must be > 0; expected the share of good events as a ratio, e.g. 0.999 for 99.9 %`,
    ],
    [
      'target: 0.999',
      'target: 1',
      `${at} "target": must be < 1; expected the share of good events as a ratio, e.g. 0.999 for 99.9 %`,
    ],
    [
      'target: 0.999',
      'target: high',
      `${at} "target": must be number; expected the share of good events as a ratio, e.g. 0.999 for 99.9 %`,
    ],
    [
      'window: 30d',
      'window: 7d',
      `${at} "window": must be equal to one of the allowed values; expected the compliance window; the burn-rate alert windows are tuned for 30d`,
    ],
    [
      '    k6:',
      '    owner: me\n    k6:',
      `${at} "owner": is not a known field (check its spelling); expected one of name, description, optional, target, window, sli, k6`,
    ],
    [
      'metric: phx_join_success',
      'metric: Phx',
      `${at} "k6.metric": must match pattern "^[a-z][a-z0-9_]*$"; expected a k6 custom metric name in snake_case, e.g. phx_join_success`,
    ],
    [
      '{ metric: phx_join_success }',
      '{ metric: phx, kind: rate }',
      `${at} "k6.kind": is not a known field (check its spelling); expected one of metric`,
    ],
  ];
  for (const [from, to, problem] of cases) assert.deepEqual(problems(valid.replace(from, to)), [problem], to);
  const longest = 'a'.repeat(63);
  assert.equal(parseObjectives(valid.replace('join-success', longest))[0]?.name, longest);
  assert.equal(problems(valid.replace('join-success', `${longest}a`)).length, 1);
});

test('the SLI: exactly one kind, each with its own fields', () => {
  const cases: [RegExp | string, string, string[]][] = [
    [
      '    k6:',
      '      availability: { up: up }\n    k6:',
      [
        `${at} "sli": must NOT have more than 1 properties; expected exactly one of \`ratio\` (event counters), \`latency\` (a histogram and a threshold) or \`availability\` (an up gauge)`,
      ],
    ],
    [
      '    k6:',
      '      foo: 1\n    k6:',
      [
        `${at} "sli": must NOT have more than 1 properties; expected exactly one of \`ratio\` (event counters), \`latency\` (a histogram and a threshold) or \`availability\` (an up gauge)`,
        `${at} "sli.foo": is not a known field (check its spelling); expected one of ratio, latency, availability`,
      ],
    ],
    [
      '        total: [switchboard_joins_total]\n',
      '',
      [
        `${at} "sli.ratio": must NOT have fewer than 2 properties; expected \`total\` plus exactly one of \`good\` or \`bad\`, each a list of counter selectors`,
        `${at} "sli.ratio.total": is missing`,
      ],
    ],
    [
      'total: [switchboard_joins_total]',
      'total: []',
      [
        `${at} "sli.ratio.total": must NOT have fewer than 1 items; expected a list of counter series selectors, e.g. ['switchboard_joins_total{result="ok"}']`,
      ],
    ],
    [
      'total: [switchboard_joins_total]',
      "total: ['']",
      [`${at} "sli.ratio.total.0": must NOT have fewer than 1 characters`],
    ],
    [
      ratio,
      'latency: { histogram: x_seconds }\n',
      [
        `${at} "sli.latency.threshold": is missing; expected seconds; it must be one of the histogram bucket boundaries (le values)`,
      ],
    ],
    [
      ratio,
      'latency: { threshold: 1 }\n',
      [
        `${at} "sli.latency.histogram": is missing; expected the histogram metric name without the _bucket/_count/_sum suffix`,
      ],
    ],
    [
      ratio,
      'latency: { histogram: x_seconds, threshold: 0 }\n',
      [
        `${at} "sli.latency.threshold": must be > 0; expected seconds; it must be one of the histogram bucket boundaries (le values)`,
      ],
    ],
    [
      ratio,
      'latency: { histogram: x-seconds, threshold: 1 }\n',
      [
        `${at} "sli.latency.histogram": must match pattern "^[a-zA-Z_:][a-zA-Z0-9_:]*$"; expected the histogram metric name without the _bucket/_count/_sum suffix`,
      ],
    ],
    [
      ratio,
      'latency: { histogram: x_sum, threshold: 1 }\n',
      [
        `${at} "sli.latency.histogram": must NOT be valid; expected the histogram metric name without the _bucket/_count/_sum suffix`,
      ],
    ],
    [
      ratio,
      'latency: { histogram: x, threshold: 1, le: 2 }\n',
      [
        `${at} "sli.latency.le": is not a known field (check its spelling); expected one of histogram, threshold`,
      ],
    ],
    [
      ratio,
      "availability: { up: '' }\n",
      [
        `${at} "sli.availability.up": must NOT have fewer than 1 characters; expected a series selector of a gauge that is 1 while a target is healthy and 0 otherwise`,
      ],
    ],
    [
      ratio,
      'availability: {}\n',
      [
        `${at} "sli.availability.up": is missing; expected a series selector of a gauge that is 1 while a target is healthy and 0 otherwise`,
      ],
    ],
    [
      ratio,
      'availability: { up: up, down: x }\n',
      [`${at} "sli.availability.down": is not a known field (check its spelling); expected one of up`],
    ],
  ];
  for (const [from, to, expected] of cases) assert.deepEqual(problems(valid.replace(from, to)), expected, to);
});

test('latency and bad-event SLIs are normalised', () => {
  const [latency] = parseObjectives(
    valid.replace(ratio, 'latency: { histogram: x_seconds, threshold: 0.5 }\n'),
  );
  assert.deepEqual(latency, {
    name: 'join-success',
    description: 'Channel joins answered with status ok.',
    target: 0.999,
    window: '30d',
    sli: { kind: 'latency', histogram: 'x_seconds', threshold: 0.5 },
    k6: { metric: 'phx_join_success' },
  });
  const [bad] = parseObjectives(
    valid.replace(`good: ['switchboard_joins_total{result="ok"}']`, "bad: ['x_total']"),
  );
  assert.deepEqual(bad?.sli, {
    kind: 'ratio',
    counts: 'bad',
    events: ['x_total'],
    total: ['switchboard_joins_total'],
  });
});
