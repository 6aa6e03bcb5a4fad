// `$.a.b[0].c` lookups over parsed JSON, for the http task's and the http health check's json_path expectations.

/** The value at `path` in `value`, or undefined when a step is missing. */
export function jsonPath(value: unknown, path: string): unknown {
  const steps = path.replace(/^\$\.?/, '').match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let v = value;
  for (const s of steps) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s.startsWith('[') ? s.slice(1, -1) : s];
  }
  return v;
}
