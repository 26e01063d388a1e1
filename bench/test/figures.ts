// The figures of a text, and whether each is a value of a JSON document (as printed: rounded,
// with thousands separators or a k/M suffix). Numbers glued to a word ("p99", "v20") are names, not figures.

const FIGURE = /(?<![\w.])\d[\d,]*(?:\.\d+)?[kM]?/g;

interface Figure {
  text: string;
  value: number;
  /** Half a unit of the last digit shown: how far rounding can have moved it. */
  tolerance: number;
}

function parse(token: string): Figure {
  const text = token.replace(/,+$/, '');
  const scale = text.endsWith('M') ? 1e6 : text.endsWith('k') ? 1e3 : 1;
  const digits = text.replace(/[kM]$/, '').replaceAll(',', '');
  const decimals = digits.includes('.') ? digits.split('.')[1]!.length : 0;
  return { text, value: Number(digits) * scale, tolerance: 0.5 * 10 ** -decimals * scale + 1e-9 };
}

export function figuresIn(text: string): Figure[] {
  return (text.match(FIGURE) ?? []).map(parse);
}

/** Every number in `json`, including those written inside its strings (dates, versions, reasons). */
export function valuesIn(json: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') out.push(v);
    else if (typeof v === 'string') out.push(...figuresIn(v).map((f) => f.value));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json);
  return out;
}

/** The figures of `text` that no value of `json` accounts for. */
export function figuresNotIn(text: string, json: unknown): string[] {
  const values = valuesIn(json).sort((a, b) => a - b);
  return figuresIn(text)
    .filter((f) => !values.some((v) => Math.abs(v - f.value) <= f.tolerance))
    .map((f) => f.text);
}
