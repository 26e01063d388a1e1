// A `node --test` reporter that prints each test file's wall time, slowest first, when the run ends:
// the suite must stay under CI's time, and this says where it goes.
// A file's time runs from its first event to its last as they arrive here (files run in parallel,
// so the times add up to more than the run). Plain JavaScript: run-tests.mjs loads it without tsx.
const SHOWN = 15;

export default async function* timings(source) {
  const files = new Map(); // file -> { first, last } in ms since the epoch
  for await (const event of source) {
    const file = event.data?.file;
    if (!file) continue;
    const now = Date.now();
    const t = files.get(file);
    if (t) t.last = now;
    else files.set(file, { first: now, last: now });
  }
  const rows = [...files]
    .map(([file, t]) => [file.replace(`${process.cwd()}/`, ''), (t.last - t.first) / 1000])
    .sort((a, b) => b[1] - a[1]);
  yield `\nslowest test files (wall time, of ${rows.length}):\n`;
  for (const [file, s] of rows.slice(0, SHOWN)) yield `  ${s.toFixed(0).padStart(5)} s  ${file}\n`;
}
