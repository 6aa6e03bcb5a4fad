// Parses one YAML file keeping positions: every JSON pointer maps back to `file:line:col`
// (value node, or the key of a map entry). YAML syntax errors become Diagnostics, all at once.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
  if (Buffer.byteLength(text) > MAX_BYTES) {
    return { diagnostics: [{ loc: { file, line: 1, col: 1 }, message: `file is larger than ${MAX_BYTES / 1024 / 1024} MB; refusing to parse` }] };
  }
  if (text.includes('\u0000')) {
    const i = text.indexOf('\u0000');
    lc.addNewLine(0);
    for (let k = 0; k < text.length; k++) if (text[k] === '\n') lc.addNewLine(k + 1);
    return { diagnostics: [{ loc: at(i), message: 'binary content (NUL byte): not a YAML text file' }] };
  }
  const doc: Document.Parsed = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const diagnostics: Diagnostic[] = [...doc.errors, ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')].map((e) => ({
    loc: at(e.pos[0]),
    message: e.code === 'DUPLICATE_KEY' ? 'duplicate key' : e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, ''),
  }));
  if (diagnostics.length) return { diagnostics };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { diagnostics: [{ loc: at(0), message: `cannot load YAML: ${(e as Error).message}` }] };
  }
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
  const source: YamlSource = {
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
  return { source, diagnostics: [] };
}

/** The source line for a location and a caret under its column (for the CLI). */
export function excerpt(text: string, loc: SourceLoc): string {
  const line = text.split('\n')[loc.line - 1];
  if (line === undefined) return '';
  const shown = line.length > 200 ? line.slice(0, 200) + '…' : line;
  return `  ${shown}\n  ${' '.repeat(Math.min(loc.col - 1, 200))}^`;
}
