// Parses one YAML file keeping positions: every JSON pointer maps back to `file:line:col`
// (value node, or the key of a map entry). YAML syntax errors become Diagnostics, all at once.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLError } from 'yaml';
import type { Diagnostic, SourceLoc } from '../errors.ts';

export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly value: unknown;
  /** Location of the value at a JSON pointer ('' = document); the nearest existing ancestor if absent. */
  locOf(pointer: string): SourceLoc;
  /** Location of the *key* of the entry at the pointer (for unknown-key errors). */
  keyLocOf(pointer: string): SourceLoc;
  /** Offset of the scalar at the pointer's value start, for template errors inside strings. */
  scalarLoc(pointer: string, offsetInValue: number): SourceLoc;
}

const MAX_BYTES = 2 * 1024 * 1024;

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function joinPointer(base: string, ...segs: (string | number)[]): string {
  return base + segs.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function child(node: Node | null | undefined, seg: string): { node?: Node; key?: Node } {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
    return pair ? { node: (pair.value as Node) ?? undefined, key: pair.key as Node } : {};
  }
  if (isSeq(node)) {
    const item = node.items[Number(seg)];
    return item ? { node: item as Node } : {};
  }
  return {};
}

export function parseYamlSource(file: string, text: string): { source?: YamlSource; diagnostics: Diagnostic[] } {
  const lc = new LineCounter();
  const at = (offset: number): SourceLoc => {
    const p = lc.linePos(Math.max(0, Math.min(offset, text.length)));
    return { file, line: p.line, col: p.col };
  };
  const early = beforeParsing(file, text, lc, at);
  if (early) return { diagnostics: [early] };
  const doc: Document.Parsed = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')]
    // a stack overflow is reported once per nesting level: keep one
    .filter((e, i, all) => e.code !== 'RESOURCE_EXHAUSTION' || all.findIndex((x) => x.code === e.code) === i);
  const diagnostics: Diagnostic[] = problems.map((e) => syntaxDiagnostic(doc, text, e, at))
    .filter((d, i, all) => all.findIndex((x) => x.loc.line === d.loc.line && x.loc.col === d.loc.col && x.message === d.message) === i);
  if (diagnostics.length) return { diagnostics };
  const aliases = aliasDiagnostic(doc);
  if (aliases) return { diagnostics: [{ loc: at(aliases.offset), message: aliases.message }] };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { diagnostics: [{ loc: at(0), message: `cannot load YAML: ${(e as Error).message}` }] };
  }
  return { source: sourceOf(file, text, value, doc, at), diagnostics: [] };
}

/** What is refused before the parser runs: too large, binary, nested deeper than the parser's stack. */
function beforeParsing(file: string, text: string, lc: LineCounter, at: (offset: number) => SourceLoc): Diagnostic | undefined {
  if (Buffer.byteLength(text) > MAX_BYTES) {
    return { loc: { file, line: 1, col: 1 }, message: `file is larger than ${MAX_BYTES / 1024 / 1024} MB; refusing to parse` };
  }
  const nul = text.indexOf('\u0000');
  const deep = nul >= 0 ? undefined : flowTooDeep(text);
  if (nul < 0 && deep === undefined) return undefined;
  countLines(lc, text);
  return nul >= 0 ? { loc: at(nul), message: 'binary content (NUL byte): not a YAML text file' }
    : { loc: at(deep!), message: `YAML nested more than ${MAX_FLOW_DEPTH} levels deep` };
}

/** Locations by JSON pointer over the parsed document (values, keys, and offsets inside one-line scalars). */
function sourceOf(file: string, text: string, value: unknown, doc: Document.Parsed, at: (offset: number) => SourceLoc): YamlSource {
  const walk = (pointer: string): { node?: Node; key?: Node; nearest: Node | undefined } => {
    let node: Node | undefined = doc.contents ?? undefined;
    let key: Node | undefined;
    let nearest = node;
    for (const seg of pointerSegments(pointer)) {
      const next = child(node, seg);
      if (!next.node && !next.key) return { nearest };
      node = next.node;
      key = next.key;
      nearest = node ?? key ?? nearest;
    }
    return { node, key, nearest };
  };
  const startOf = (n: Node | undefined): number => n?.range?.[0] ?? 0;
  return {
    file, text, value,
    locOf: (pointer) => { const w = walk(pointer); return at(startOf(w.node ?? w.key ?? w.nearest)); },
    keyLocOf: (pointer) => { const w = walk(pointer); return at(startOf(w.key ?? w.node ?? w.nearest)); },
    scalarLoc: (pointer, offset) => {
      const w = walk(pointer);
      const n = w.node;
      if (!isScalar(n) || !n.range) return at(startOf(n ?? w.nearest));
      const quoted = n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE';
      const raw = text.slice(n.range[0], n.range[1]);
      const plainOnOneLine = !raw.includes('\n') && (n.type === 'PLAIN' || quoted);
      return at(n.range[0] + (plainOnOneLine ? offset + (quoted ? 1 : 0) : 0));
    },
  };
}

/** The node an unterminated quote or flow collection opened (its range ends where the error is). */
function openedAt(doc: Document.Parsed, offset: number, want: (n: Node) => boolean): Node | undefined {
  let found: Node | undefined;
  const visit = (n: unknown): void => {
    if (found || !n || typeof n !== 'object') return;
    const node = n as Node;
    if (node.range && node.range[0] < offset && node.range[1] >= offset && want(node)) found = node;
    if (isMap(node)) node.items.forEach((p) => { visit(p.key); visit(p.value); });
    else if (isSeq(node)) node.items.forEach(visit);
  };
  visit(doc.contents);
  return found;
}

const isQuoted = (n: Node): boolean => isScalar(n) && (n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE');
const isFlow = (n: Node): boolean => (isMap(n) || isSeq(n)) && n.flow === true;

const MAX_FLOW_DEPTH = 200;

/** Line starts for diagnostics found before the parser (which fills the LineCounter itself) runs. */
function countLines(lc: LineCounter, text: string): void {
  lc.addNewLine(0);
  for (let k = 0; k < text.length; k++) if (text[k] === '\n') lc.addNewLine(k + 1);
}

/** Offset of the bracket that opens level MAX_FLOW_DEPTH + 1 of `[`/`{` nesting (outside quotes and
 *  comments), found before parsing: the parser's own stack overflow lands at a stack-dependent place. */
function flowTooDeep(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) {
      for (i++; i < text.length && text[i] !== c; i++) if (c === '"' && text[i] === '\\') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** A parser error as a Diagnostic; unclosed quotes and brackets point at where they were opened. */
function syntaxDiagnostic(doc: Document.Parsed, text: string, e: YAMLError, at: (offset: number) => SourceLoc): Diagnostic {
  const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
  if (e.code === 'DUPLICATE_KEY') return { loc: at(e.pos[0]), message: 'duplicate key' };
  const lineStart = text.lastIndexOf('\n', e.pos[0] - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart, lineStart + 200))![0];
  if (indent.includes('\t')) return { loc: at(lineStart + indent.indexOf('\t')), message: 'tab in indentation: YAML indents with spaces only' };
  if (e.code === 'MULTIPLE_DOCS') return { loc: at(e.pos[0]), message: 'more than one YAML document (a second \'---\'): a file holds exactly one' };
  if (e.code === 'RESOURCE_EXHAUSTION') return { loc: at(e.pos[0]), message: 'YAML nested too deeply to parse' };
  if (/closing ["']quote/.test(first)) {
    const q = openedAt(doc, e.pos[0], isQuoted);
    if (q?.range) return { loc: at(q.range[0]), message: `unterminated quoted string: no closing ${(q as { type?: string }).type === 'QUOTE_DOUBLE' ? '"' : "'"}` };
  }
  if (/^Flow (map|sequence)/.test(first)) {
    const f = openedAt(doc, e.pos[0], isFlow);
    const [open, close] = first.startsWith('Flow map') ? ['{', '}'] : ['[', ']'];
    if (f?.range) return { loc: at(f.range[0]), message: `unclosed '${open}': no matching '${close}' (or a following line is not indented enough)` };
  }
  return { loc: at(e.pos[0]), message: first };
}

const MAX_EXPANDED = 100_000;

/** Aliases that never resolve, refer to themselves, or expand past MAX_EXPANDED nodes ("billion laughs"). */
function aliasDiagnostic(doc: Document.Parsed): { offset: number; message: string } | undefined {
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  let problem: { offset: number; message: string } | undefined;
  const size = (n: unknown): number => {
    if (problem || !n || typeof n !== 'object') return 1;
    const node = n as Node;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (isAlias(node)) {
      const target = node.resolve(doc) as Node | undefined;
      const offset = node.range?.[0] ?? 0;
      if (!target) problem = { offset, message: `alias *${node.source} has no anchor &${node.source} before it` };
      else if (open.has(target)) problem = { offset, message: `alias *${node.source} refers to its own anchor (a cycle)` };
      const s = problem ? 1 : size(target);
      if (!problem && s > MAX_EXPANDED) problem = { offset, message: `aliases expand to more than ${MAX_EXPANDED} values (an alias bomb); refusing to load` };
      return s;
    }
    open.add(node);
    let total = 1;
    if (isMap(node)) for (const p of node.items) total += size(p.key) + size(p.value);
    else if (isSeq(node)) for (const item of node.items) total += size(item);
    open.delete(node);
    sizes.set(node, total);
    return total;
  };
  size(doc.contents);
  return problem;
}

/** The source line for a location and a caret under its column (for the CLI); `lines` split once per file. */
export function excerpt(lines: readonly string[], loc: SourceLoc, mask: (line: string) => string = (l) => l): string {
  const raw = lines[loc.line - 1];
  const line = raw === undefined ? undefined : mask(raw);
  if (line === undefined) return '';
  const shown = line.length > 200 ? line.slice(0, 200) + '…' : line;
  return `  ${shown}\n  ${' '.repeat(Math.min(loc.col - 1, 200))}^`;
}
