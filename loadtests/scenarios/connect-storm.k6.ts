// k6 entry for the connect-storm scenario; bundled to base/loadtest/generated/connect-storm.js by `npm run loadtests:bundle`.
import type { Options } from 'k6/options';
import { k6Entry } from '../lib/k6/entry.js';
import { connectStorm } from './connect-storm.js';

const entry = k6Entry(connectStorm);
export const options: Options = entry.options;
export default entry.run;
export const handleSummary = entry.handleSummary;
