// A valid objectives file of one ratio objective, and the problems parseObjectives reports for a
// text: shared by the tests of the objectives schema and checks.
import assert from 'node:assert/strict';
import { ObjectivesError, parseObjectives } from '../../src/objectives.js';

export const validObjectives = `version: 1
objectives:
  - name: join-success
    description: Channel joins answered with status ok.
    target: 0.999
    window: 30d
    sli:
      ratio:
        good: ['switchboard_joins_total{result="ok"}']
        total: [switchboard_joins_total]
    k6: { metric: phx_join_success }
`;

/** The problems parseObjectives reports for `text`; fails the test when it accepts the text. */
export function problems(text: string): string[] {
  try {
    parseObjectives(text);
  } catch (e) {
    assert.ok(e instanceof ObjectivesError, String(e));
    return e.problems;
  }
  assert.fail('expected the objectives to be rejected');
}
