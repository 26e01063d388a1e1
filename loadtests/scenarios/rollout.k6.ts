// k6 entry for the rollout scenario; bundled to base/loadtest/generated/rollout.js by `npm run loadtests:bundle`.
import type { Options } from 'k6/options';
import { k6Entry } from '../lib/k6/entry.js';
import { rollout } from './rollout.js';

const entry = k6Entry(rollout);
export const options: Options = entry.options;
export default entry.run;
export const handleSummary = entry.handleSummary;
