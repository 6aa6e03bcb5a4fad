// A value that must never be printed: `***` from toString, toJSON and util.inspect.
// Only `reveal()` gives the real value, and only transports and HTTP calls should call it.
import { inspect } from 'node:util';

const values = new WeakMap<Secret, string>();

export class Secret {
  constructor(value: string, readonly label = 'secret') {
    values.set(this, value);
  }
  reveal(): string {
    return values.get(this) ?? '';
  }
  toString(): string {
    return '***';
  }
  toJSON(): string {
    return '***';
  }
  [inspect.custom](): string {
    return '***';
  }
}

export function isSecret(v: unknown): v is Secret {
  return v instanceof Secret;
}

/** Replace every occurrence of each secret's value in `text` (last line of defence for remote output). */
export function redactText(text: string, secrets: Iterable<Secret>): string {
  let out = text;
  // longest first: a value that contains another is blanked whole, not as `***-rest`
  const values = [...secrets].map((s) => s.reveal()).sort((a, b) => b.length - a.length);
  for (const v of values) if (v.length >= 3) out = out.split(v).join('***');
  return out;
}
