import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode, Tree } from '@lezer/common';

/**
 * PromQL reading with Prometheus's own grammar (the lezer grammar its web UI uses), so metric names
 * are taken from vector selectors and never confused with functions, labels, keywords or strings.
 */

/** Label name the gate's `$selector` placeholder stands for while parsing; never reported as a label. */
const SELECTOR_STAND_IN = '__gate_selector__';

/**
 * Template variables become something that parses: the gate's `$selector` (a list of label matchers)
 * a matcher, the others ($window, ${datasource}, $__rate_interval) a duration.
 */
function withoutVariables(expr: string): string {
  return expr
    .replace(/\$\{selector\}|\$selector\b/g, `${SELECTOR_STAND_IN}=""`)
    .replace(/\$\{?[A-Za-z_]\w*\}?/g, '5m');
}

function parse(expr: string): Tree {
  return parser.parse(withoutVariables(expr));
}

/** Syntax errors as "at offset N: <text around it>"; empty when the expression parses. */
export function promqlSyntaxErrors(expr: string): string[] {
  const text = withoutVariables(expr);
  const errors: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push(
          `at offset ${node.from}: near "${text.slice(Math.max(0, node.from - 10), node.from + 10)}"`,
        );
      }
    },
  });
  return errors;
}

/** True when `expr` is exactly one series selector such as `foo_total{a="b"}` (no function, no range). */
export function isSeriesSelector(expr: string): boolean {
  if (promqlSyntaxErrors(expr).length > 0) return false;
  const top = parse(expr).topNode.firstChild;
  return top?.name === 'VectorSelector' && top.nextSibling === null;
}

function selectorName(node: SyntaxNode, text: string): string | undefined {
  const ident = node.getChild('Identifier');
  if (ident) return text.slice(ident.from, ident.to);
  // {__name__="foo"} names the metric through a label matcher.
  for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
    const label = matcher.getChild('LabelName');
    const op = matcher.getChild('MatchOp');
    const value = matcher.getChild('StringLiteral');
    if (!label || !op || !value) continue;
    if (text.slice(label.from, label.to) === '__name__' && text.slice(op.from, op.to) === '=') {
      return JSON.parse(text.slice(value.from, value.to).replace(/^'|'$/g, '"')) as string;
    }
  }
  return undefined;
}

/** One vector selector of an expression: its metric name (if any) and the label names it matches on. */
export interface SelectorUse {
  name?: string;
  labels: string[];
  /** True when the selector carries the gate's `$selector` placeholder. */
  scoped: boolean;
}

/** Every vector selector in `expr`, in order of appearance; `scoped` says whether it carries `$selector`. */
export function selectors(expr: string): SelectorUse[] {
  const text = withoutVariables(expr);
  const found: SelectorUse[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const matchers = node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [];
      const names = matchers
        .map((m) => m.getChild('LabelName'))
        .filter((l): l is SyntaxNode => l !== null)
        .map((l) => text.slice(l.from, l.to));
      const labels = names.filter((l) => l !== '__name__' && l !== SELECTOR_STAND_IN);
      found.push({ name: selectorName(node.node, text), labels, scoped: names.includes(SELECTOR_STAND_IN) });
    },
  });
  return found;
}

/** Every metric name that `expr` selects, sorted; recording-rule names (with ':') included. */
export function metricNames(expr: string): string[] {
  const names = selectors(expr).flatMap((s) => (s.name === undefined ? [] : [s.name]));
  return [...new Set(names)].sort();
}
