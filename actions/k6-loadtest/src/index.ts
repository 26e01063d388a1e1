import { WORKER_ENV } from './background.js';
import { run, runWorker } from './main.js';

// phase: start runs this entry point again, detached, as the load test's worker.
const handle = process.env[WORKER_ENV];
void (handle ? runWorker(handle) : run());
