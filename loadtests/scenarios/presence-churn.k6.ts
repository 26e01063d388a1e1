// k6 entry for the presence-churn scenario; bundled to base/loadtest/generated/presence-churn.js by `npm run loadtests:bundle`.
import type { Options } from 'k6/options';
import { k6Entry } from '../lib/k6/entry.js';
import { presenceChurn } from './presence-churn.js';

const entry = k6Entry(presenceChurn);
export const options: Options = entry.options;
export default entry.run;
export const handleSummary = entry.handleSummary;
