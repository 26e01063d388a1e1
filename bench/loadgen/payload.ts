/**
 * The benchmark's publication: `{"k":<step>,"q":<seq>,"t":<intended send time, µs since epoch>,"b":"<filler>"}`.
 *
 * `q` counts per topic from 0 in each step, so every subscriber can check it got each publication of
 * its topic exactly once and in order. `t` is when the publication was due (start + i / rate), not
 * when it left: a publisher that falls behind shows up as latency instead of hiding it.
 * The fields come first and in this order so a receiver reads them with one search and a digit walk.
 */

/** A publication's header, read back from a delivered frame. */
export interface Stamp {
  step: number;
  seq: number;
  intendedUs: number;
}

const START = Buffer.from('{"k":');
const Q = ',"q":'.length;
const T = ',"t":'.length;

/** The JSON text of publication `seq` of `step` on a topic, due at `intendedUs`. */
export function formatPublication(step: number, seq: number, intendedUs: number, filler: string): string {
  return `{"k":${step},"q":${seq},"t":${intendedUs},"b":"${filler}"}`;
}

/** Reads the stamp out of `buf[start..end)` (a whole frame payload); null when there is none. */
export function readStamp(buf: Buffer, start: number, end: number): Stamp | null {
  const at = buf.indexOf(START, start);
  if (at < 0 || at >= end) return null;
  let i = at + START.length;
  const digits = (): number => {
    const from = i;
    let n = 0;
    for (; i < end; i++) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    return i > from ? n : -1;
  };
  const step = digits();
  i += Q;
  const seq = digits();
  i += T;
  const intendedUs = digits();
  if (step < 0 || seq < 0 || intendedUs < 0) return null;
  return { step, seq, intendedUs };
}
