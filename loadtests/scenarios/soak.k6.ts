// k6 entry for the soak scenario; bundled to base/loadtest/generated/soak.js by `npm run loadtests:bundle`.
import type { Options } from 'k6/options';
import { k6Entry } from '../lib/k6/entry.js';
import { soak } from './soak.js';

const entry = k6Entry(soak);
export const options: Options = entry.options;
export default entry.run;
export const handleSummary = entry.handleSummary;
