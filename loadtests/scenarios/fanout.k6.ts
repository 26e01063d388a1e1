// k6 entry for the fanout scenario; bundled to base/loadtest/generated/fanout.js by `npm run loadtests:bundle`.
import type { Options } from 'k6/options';
import { k6Entry } from '../lib/k6/entry.js';
import { fanout } from './fanout.js';

const entry = k6Entry(fanout);
export const options: Options = entry.options;
export default entry.run;
export const handleSummary = entry.handleSummary;
