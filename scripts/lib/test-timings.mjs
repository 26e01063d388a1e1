// A `node --test` reporter that prints each test file's wall time, slowest first, when the run ends:
// the suite must stay under CI's time, and this says where it goes.
// A file's time runs from its start (dequeued to run) to its end (complete), as the file-level events
// arrive: these come live, while a file's inner results are held back until the files before it are
// reported. Plain JavaScript: run-tests.mjs loads it without tsx.
const SHOWN = 15;

export default async function* timings(source) {
  const files = new Map(); // file -> { start, end } in ms since the epoch
  for await (const event of source) {
    const file = event.data?.file;
    // The file itself is the test named by its path, at nesting 0.
    if (!file || event.data.name !== file || event.data.nesting !== 0) continue;
    if (event.type === 'test:dequeue') files.set(file, { start: Date.now(), end: undefined });
    else if (event.type === 'test:complete' && files.has(file)) files.get(file).end = Date.now();
  }
  const rows = [...files]
    .filter(([, t]) => t.end !== undefined)
    .map(([file, t]) => [file.replace(`${process.cwd()}/`, ''), (t.end - t.start) / 1000])
    .sort((a, b) => b[1] - a[1]);
  yield `\nslowest test files (wall time, of ${rows.length}):\n`;
  for (const [file, s] of rows.slice(0, SHOWN)) yield `  ${s.toFixed(1).padStart(6)} s  ${file}\n`;
}
