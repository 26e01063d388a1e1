/** Every scenario by name (the Node runner's catalogue; k6 entry files import their scenario directly). */
import type { Scenario } from '../lib/scenario.js';
import { connectStorm } from './connect-storm.js';
import { fanout } from './fanout.js';
import { presenceChurn } from './presence-churn.js';
import { rollout } from './rollout.js';
import { soak } from './soak.js';

export const scenarios: Readonly<Record<string, Scenario>> = {
  [connectStorm.name]: connectStorm,
  [fanout.name]: fanout,
  [presenceChurn.name]: presenceChurn,
  [rollout.name]: rollout,
  [soak.name]: soak,
};
