// A folder's state as data (every file's mode and text, every directory's mode), to prove that
// a plan changed nothing and that a second apply changed nothing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      out[relative(dir, p)] = s.isDirectory() ? `dir:${s.mode.toString(8)}` : `${s.mode.toString(8)}:${readFileSync(p, 'utf8')}`;
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}
