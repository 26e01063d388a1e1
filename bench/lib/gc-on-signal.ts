/**
 * Preloaded (`--import`) into every server process the benchmark starts, with `--expose-gc`:
 * SIGUSR2 runs a full garbage collection, so idle-connection RSS is measured without garbage.
 */
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => gc?.());
