// Sets values in a YAML file by path and leaves every other byte as it was (comments, anchors,
// quoting, blank lines): the new value is spliced over the old node's source range.
import { isMap, isScalar, isSeq, parseDocument, stringify, type Node } from 'yaml';

/** A map key, a sequence index, or the sequence item whose `key` field equals `value`. */
export type PathSegment = string | number | { key: string; value: string };

/** One value of switchboard.config.yaml at one place in one file. */
export interface Edit {
  /** Relative to the repository root. */
  file: string;
  path: PathSegment[];
  /** A scalar, or a whole mapping of strings (labels). */
  value: string | Map<string, string>;
}

/** A place where the file differs from switchboard.config.yaml. */
export interface Change {
  file: string;
  /** e.g. `spec.destinations[0].namespace`. */
  field: string;
  from: string;
  to: string;
}

/** The file does not have the shape configure expects (someone moved or removed the field). */
export class EditError extends Error {
  readonly code = 'ERR_CONFIGURE_EDIT';
  constructor(file: string, field: string, why: string) {
    super(`${file}: ${field}: ${why}; put the field back or change pipeline/src/configure/placements.ts`);
    this.name = 'EditError';
  }
}

/** `spec.listeners[name=https-dev].hostname`. */
export function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string')
      out += /^[A-Za-z_][\w-]*$/.test(s) ? `${out ? '.' : ''}${s}` : `[${JSON.stringify(s)}]`;
    else out += `[${s.key}=${s.value}]`;
  }
  return out;
}

function child(node: unknown, seg: PathSegment): unknown {
  if (typeof seg === 'string') return isMap(node) ? node.get(seg, true) : undefined;
  if (!isSeq(node)) return undefined;
  if (typeof seg === 'number') return node.items[seg];
  return node.items.find((item) => isMap(item) && item.get(seg.key) === seg.value);
}

function renderScalar(value: string, type: string | undefined): string {
  if (type === 'QUOTE_SINGLE') return `'${value.replaceAll("'", "''")}'`;
  if (type === 'QUOTE_DOUBLE') return JSON.stringify(value);
  return stringify(value, { singleQuote: true, lineWidth: 0 }).trimEnd();
}

function describe(value: unknown): string {
  if (isMap(value)) return JSON.stringify(value.toJSON());
  if (isScalar(value)) return String(value.value);
  return String(value);
}

function sameMap(node: Node, want: Map<string, string>): boolean {
  if (!isMap(node) || node.items.length !== want.size) return false;
  return node.items.every((p) => {
    const k = isScalar(p.key) ? String(p.key.value) : undefined;
    return k !== undefined && isScalar(p.value) && want.get(k) === String(p.value.value);
  });
}

/**
 * Applies `edits` (all of one file) to `text`. Returns the new text and what changed; throws
 * EditError when a path does not lead to a value of the expected kind.
 */
export function applyEdits(file: string, text: string, edits: Edit[]): { text: string; changes: Change[] } {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new EditError(file, '(file)', `does not parse: ${doc.errors[0]?.message}`);
  const splices: Array<{ start: number; end: number; text: string }> = [];
  const changes: Change[] = [];
  for (const edit of edits) {
    let node: unknown = doc.contents;
    for (const seg of edit.path) node = child(node, seg);
    const field = formatPath(edit.path);
    if (!node || !(node as Node).range) throw new EditError(file, field, 'not found');
    const range = (node as Node).range!;
    if (typeof edit.value === 'string') {
      if (!isScalar(node)) throw new EditError(file, field, 'is not a single value');
      if (String(node.value) === edit.value) continue;
      splices.push({ start: range[0], end: range[1], text: renderScalar(edit.value, node.type) });
      changes.push({ file, field, from: String(node.value), to: edit.value });
    } else {
      if (!isMap(node) || node.flow) throw new EditError(file, field, 'is not a block mapping');
      if (sameMap(node, edit.value)) continue;
      const lineStart = text.lastIndexOf('\n', range[0] - 1) + 1;
      const indent = ' '.repeat(range[0] - lineStart);
      let end = range[1];
      while (end > range[0] && /\s/.test(text[end - 1] ?? '')) end--;
      const block = stringify(edit.value, { singleQuote: true, lineWidth: 0 }).trimEnd();
      splices.push({ start: range[0], end, text: block.split('\n').join(`\n${indent}`) });
      changes.push({ file, field, from: describe(node), to: JSON.stringify(Object.fromEntries(edit.value)) });
    }
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.start - a.start))
    out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return { text: out, changes };
}
