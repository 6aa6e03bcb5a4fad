// Shell scripts built as data: the `sh` tag quotes every interpolated value (as zx does),
// so a variable holding `x; rm -rf /` stays one literal argument. `raw()` opts out.
import { Secret } from './secret.ts';

/** A POSIX sh script: `text` runs on the host, `shown` is what output and journals print. */
export class Script {
  constructor(readonly text: string, readonly shown: string = text) {}
  toString(): string {
    return this.shown;
  }
  toJSON(): string {
    return this.shown;
  }
}

/** A value spliced into a script without quoting (`| raw` in templates). */
export class Raw {
  constructor(readonly value: string | Secret) {}
}

export function raw(value: string | Secret): Raw {
  return new Raw(value);
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quote a string: safe words stay bare, everything else is '...' with ' escaped. */
export function quote(value: string): string {
  if (value === '') return "''";
  if (SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

type Part = string | number | boolean | Secret | Raw | Script | readonly (string | number | Secret)[];

function piece(v: Part): { text: string; shown: string } {
  if (v instanceof Script) return { text: v.text, shown: v.shown };
  if (v instanceof Raw) {
    return v.value instanceof Secret ? { text: v.value.reveal(), shown: '***' } : { text: v.value, shown: v.value };
  }
  if (v instanceof Secret) return { text: quote(v.reveal()), shown: '***' };
  if (Array.isArray(v)) {
    const parts = v.map((x) => piece(x as Part));
    return { text: parts.map((p) => p.text).join(' '), shown: parts.map((p) => p.shown).join(' ') };
  }
  const s = quote(String(v));
  return { text: s, shown: s };
}

/** Tagged template: sh`mkdir -p ${dir}` quotes `dir`; arrays become several quoted words. */
export function sh(strings: TemplateStringsArray, ...values: Part[]): Script {
  let text = strings[0] ?? '';
  let shown = text;
  values.forEach((v, i) => {
    const p = piece(v);
    text += p.text + strings[i + 1];
    shown += p.shown + strings[i + 1];
  });
  return new Script(text, shown);
}

/** Join scripts with a separator (`; `, ` && `, newline). */
export function joinScripts(scripts: readonly Script[], sep = '\n'): Script {
  return new Script(scripts.map((s) => s.text).join(sep), scripts.map((s) => s.shown).join(sep));
}
