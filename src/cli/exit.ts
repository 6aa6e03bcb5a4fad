// The only place that maps errors to exit codes and text: `file:line:col: message`, the source
// line and a caret for input errors; a stack and where to report it only for real bugs.
import { closeSync, openSync, readSync } from 'node:fs';
import { ExitCode, formatDiagnostic, InputError, InternalError, RunbookError } from '../errors.ts';
import { maskSecrets } from '../engine/secret-scan.ts';
import { excerpt } from '../engine/yaml-source.ts';
import type { Out } from './output.ts';

const ISSUES = 'https://github.com/runbook/runbook/issues';

/** Enough of a file to show the lines the loader accepted: /dev/zero or a 1 GB file is not read whole. */
const MAX_EXCERPT_BYTES = 2 * 1024 * 1024;

function readHead(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_EXCERPT_BYTES);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length;) n += (got = readSync(fd, buf, n, buf.length - n, null));
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A file's lines, read and split once however many diagnostics point into it (40k problems in one file stay fast). */
function linesOf(file: string, cache: Map<string, string[] | undefined>): string[] | undefined {
  if (!cache.has(file)) {
    try { cache.set(file, readHead(file).split('\n')); } catch { cache.set(file, undefined); }
  }
  return cache.get(file);
}

export function describeError(e: unknown): { code: number; text: string; json: Record<string, unknown> } {
  if (e instanceof InputError && e.diagnostics.length) {
    const cache = new Map<string, string[] | undefined>();
    const parts = e.diagnostics.map((d) => {
      const lines = linesOf(d.loc.file, cache);
      const ex = lines ? excerpt(lines, d.loc, maskSecrets) : '';
      return `${formatDiagnostic(d)}${ex ? '\n' + ex : ''}`;
    });
    const n = e.diagnostics.length;
    return { code: ExitCode.input, text: parts.join('\n') + `\n${n} problem${n > 1 ? 's' : ''} found`,
      json: { type: 'error', exitCode: ExitCode.input, diagnostics: e.diagnostics.map((d) => ({ ...d.loc, message: d.message, hint: d.hint })) } };
  }
  if (e instanceof RunbookError && !(e instanceof InternalError)) {
    return { code: e.exitCode, text: `error: ${e.message}`, json: { type: 'error', exitCode: e.exitCode, error: e.name, message: e.message } };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: ExitCode.taskFailed, text: `internal error (a bug in runbook): ${err.stack ?? err.message}\nplease report it at ${ISSUES}`,
    json: { type: 'error', exitCode: ExitCode.taskFailed, error: 'InternalError', message: err.message } };
}

/** Control characters from hostile input (terminal escapes, NUL, CR) never reach the terminal raw. */
const printable = (text: string): string => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');

export function reportError(e: unknown, io: { out: Out; err: Out; json: boolean }): number {
  const d = describeError(e);
  if (io.json) io.out.write(JSON.stringify(d.json) + '\n');
  io.err.write(printable(d.text) + '\n');
  return d.code;
}
