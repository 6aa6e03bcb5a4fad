// Shared by command and shell: arguments, the creates/removes probe (one round trip), and the exec change.
// Not idempotent by itself: it always runs unless `creates` exists or `removes` is missing.
import { Script, quote, sh } from '../engine/script.ts';
import { Secret } from '../engine/secret.ts';
import { pathsExist } from './probes.ts';
import { change, fail, ok, type Check, type CheckCtx } from './types.ts';

export type RunArgs = {
  /** A command line; the executor renders it with every template value shell-quoted (a Script). */
  cmd?: string | Script;
  argv?: readonly (string | Secret)[];
  creates?: string;
  removes?: string;
  chdir?: string;
  env?: Readonly<Record<string, string | Secret>>;
  stdin?: string | Secret;
  /** shell only: run the line with this shell (`<executable> -c <line>`). */
  executable?: string;
};

export function runSchema(what: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object', additionalProperties: false, description: what,
    oneOf: [{ required: ['cmd'] }, { required: ['argv'] }],
    properties: {
      cmd: { type: 'string', description: 'The command line. Template values in it are shell-quoted unless written `{{ x | raw }}`.', examples: ['systemctl daemon-reload'] },
      argv: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'The command as a list of words, each quoted (instead of cmd).', examples: [['git', 'clone', 'https://example.com/app.git']] },
      creates: { type: 'string', minLength: 1, description: 'Skip (ok) when this path exists; relative to chdir.', examples: ['/opt/app/.installed'] },
      removes: { type: 'string', minLength: 1, description: 'Skip (ok) when this path does not exist; relative to chdir.', examples: ['/opt/app/old-release'] },
      chdir: { type: 'string', minLength: 1, description: 'Run in this directory on the host.', examples: ['/opt/app'] },
      env: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, description: 'Extra environment variables.', examples: [{ RAILS_ENV: 'production' }] },
      stdin: { type: 'string', description: 'Text fed to the command\'s standard input.', examples: ['{{ secrets.db_password }}\n'] },
      ...extra,
    },
  };
}

/** A bare `command: ls -l` (string, or the Script the executor rendered). */
export const freeFormRun = (text: string | Script): RunArgs => ({ cmd: text });

function scriptOf(a: RunArgs): Script | undefined {
  let s: Script | undefined;
  if (a.argv) s = sh`${a.argv}`;
  else if (a.cmd instanceof Script) s = a.cmd;
  else if (typeof a.cmd === 'string') s = new Script(a.cmd);
  if (!s || !a.executable) return s;
  return new Script(`${quote(a.executable)} -c ${quote(s.text)}`, `${quote(a.executable)} -c ${quote(s.shown)}`);
}

export async function checkRun(ctx: CheckCtx, a: RunArgs): Promise<Check> {
  const script = scriptOf(a);
  if (!script || script.text.trim() === '') return fail('nothing to run: give cmd or argv');
  const paths = [a.creates, a.removes].filter((p): p is string => p !== undefined);
  if (paths.length) {
    const found = await ctx.probe(pathsExist(paths, a.chdir));
    if (a.creates !== undefined && found[0]) return ok(`skipped, ${a.creates} exists`);
    if (a.removes !== undefined && !found[a.creates !== undefined ? 1 : 0]) return ok(`skipped, ${a.removes} does not exist`);
  }
  const stdin = a.stdin === undefined ? undefined : Buffer.from(a.stdin instanceof Secret ? a.stdin.reveal() : a.stdin);
  return change([{ kind: 'exec', why: 'will run', script, ...(a.chdir ? { cwd: a.chdir } : {}), ...(a.env ? { env: a.env } : {}), ...(stdin ? { stdin } : {}) }]);
}
