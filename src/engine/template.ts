// Templates: `{{ expr }}` inside strings, evaluated over a scope (a Jinja subset; no JavaScript
// eval). Secrets stay Secret through every operation; renderShell quotes every interpolated value
// for POSIX sh unless its last filter is `raw` (or `quote`, which already quoted it).
import { Script, quote } from './script.ts';
import { Secret } from './secret.ts';
import { children, memo, parseExpr, TemplateError, type Node } from './expr.ts';
import { checkNames, evalNode, type Scope } from './template-eval.ts';
import { defined, hasSecret, toText, truthy, Undef } from './template-values.ts';

export { TemplateError, toText, truthy, Undef, type Scope };

/** A rendered string longer than this is an error (a runaway template, not a config file). */
export const MAX_RENDERED = 50 * 1024 * 1024;

type Segment = { text: string } | { expr: string; at: number; node: Node };

/** Split a template into literal text and parsed `{{ expr }}` parts (quotes inside expressions respected). */
function split(text: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) { out.push({ text: text.slice(i) }); break; }
    if (open > i) out.push({ text: text.slice(i, open) });
    let j = open + 2;
    let q: string | undefined;
    let braces = 0; // `{{ {"a": {"b": 1}} }}`: a dict's closing braces do not end the expression
    while (j < text.length && (q || braces > 0 || !text.startsWith('}}', j))) {
      const c = text[j]!;
      if (q) { if (c === '\\') j++; else if (c === q) q = undefined; } else if (c === '"' || c === "'") q = c;
      else if (c === '{') braces++;
      else if (c === '}') braces--;
      j++;
    }
    if (j >= text.length) throw new TemplateError("unclosed '{{'", open);
    const expr = text.slice(open + 2, j);
    if (!expr.trim()) throw new TemplateError('empty expression', open + 2);
    const node = parseExpr(expr, open + 2);
    checkNames(node);
    out.push({ expr, at: open + 2, node });
    i = j + 2;
  }
  return out;
}

const compiled = memo<Segment[]>(2000);
const segments = (text: string): Segment[] => compiled(text, () => split(text));

/** The one expression of a template like ` {{ x }} ` (whitespace around allowed), if it is that. */
function lone(segs: Segment[]): Extract<Segment, { node: Node }> | undefined {
  const parts = segs.filter((s) => 'node' in s || s.text.trim() !== '');
  return parts.length === 1 && 'node' in parts[0]! ? parts[0] : undefined;
}

function tooLarge(v: unknown, at: number): unknown {
  if (typeof v === 'string' && v.length > MAX_RENDERED) throw new TemplateError(`rendered value too large (over ${MAX_RENDERED / 1024 / 1024} MB)`, at);
  return v;
}

/** Syntax check only (and filter/test names): for `runbook validate` without variables. */
export function parseTemplate(text: string): void {
  segments(text);
}

/** A lone `{{ expr }}` gives the native value; text with expressions gives a string (a Secret if any part was secret). */
export function renderString(text: string, scope: Scope): unknown {
  if (!text.includes('{{')) return text;
  const segs = segments(text);
  const one = lone(segs);
  if (one) return tooLarge(defined(evalNode(one.node, scope)), one.at);
  let out = '';
  let secret = false;
  for (const s of segs) {
    if ('text' in s) { out += s.text; continue; }
    const v = defined(evalNode(s.node, scope));
    secret ||= hasSecret(v);
    out += toText(v);
    tooLarge(out, s.at);
  }
  return secret ? new Secret(out) : out;
}

/** Render every string inside arrays and objects (keys untouched). */
export function renderValue(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') return renderString(value, scope);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope));
  if (value && typeof value === 'object' && !(value instanceof Secret) && !(value instanceof Script)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, scope)]));
  }
  return value;
}

/** A bare expression (when, until, changed_when, failed_when, assert); `{{ expr }}` is accepted too. */
export function evaluate(expr: string, scope: Scope): unknown {
  if (expr.trim().startsWith('{{')) {
    const one = lone(segments(expr));
    if (one) return defined(evalNode(one.node, scope));
  }
  const node = parseExpr(expr, 0);
  checkNames(node);
  return defined(evalNode(node, scope));
}

/** One interpolated value as shell words: quoted (a list gives one word per item) or verbatim. */
function shellWords(v: unknown, verbatim: boolean): { text: string; shown: string } {
  if (verbatim) { const t = toText(v); return { text: t, shown: hasSecret(v) ? '***' : t }; }
  const words = (Array.isArray(v) ? v : [v]).map((x) => { const q = quote(toText(x)); return { text: q, shown: hasSecret(x) ? '***' : q }; });
  return { text: words.map((w) => w.text).join(' '), shown: words.map((w) => w.shown).join(' ') };
}

/** For command/shell: literal text kept, each value shell-quoted unless its last filter is `raw` or `quote`. */
export function renderShell(text: string, scope: Scope): Script {
  let out = '';
  let shown = '';
  for (const s of segments(text)) {
    if ('text' in s) { out += s.text; shown += s.text; continue; }
    const verbatim = s.node.k === 'filter' && (s.node.name === 'raw' || s.node.name === 'quote');
    const w = shellWords(defined(evalNode(s.node, scope)), verbatim);
    out += w.text;
    shown += w.shown;
    tooLarge(out, s.at);
  }
  return new Script(out, shown);
}

/** Top-level names read (`a.b` reads `a`), split into those read plainly and those only tested for being defined. */
function names(text: string): { read: Set<string>; guarded: Set<string>; firstRead: Map<string, number> } {
  const read = new Set<string>();
  const guarded = new Set<string>();
  const firstRead = new Map<string, number>();
  const walk = (n: Node, guard: boolean): void => {
    if (n.k === 'name') (guard ? guarded : read).add(n.name);
    if (n.k === 'name' && !guard && !firstRead.has(n.name)) firstRead.set(n.name, n.at);
    const guards = (n.k === 'test' && (n.name === 'defined' || n.name === 'undefined')) || (n.k === 'filter' && (n.name === 'default' || n.name === 'd'));
    children(n).forEach((c, i) => walk(c, (guard && (n.k === 'attr' || (n.k === 'index' && i === 0))) || (guards && i === 0)));
  };
  for (const s of segments(text)) if ('node' in s) walk(s.node, false);
  return { read, guarded, firstRead };
}

/** Names read without a guard, each with the offset of its first such read in `text`. */
export function unguardedReads(text: string): { name: string; at: number }[] {
  return [...names(text).firstRead].map(([name, at]) => ({ name, at }));
}

/** Every top-level variable name a template reads, including names only tested with `is defined`. */
export function referencedNames(text: string): string[] {
  const { read, guarded } = names(text);
  return [...new Set([...read, ...guarded])];
}

/** Names used only under `is defined` / `is not defined` / `default(...)`: reading them before they are set is fine. */
export function definedTests(text: string): string[] {
  const { read, guarded } = names(text);
  return [...guarded].filter((n) => !read.has(n));
}
