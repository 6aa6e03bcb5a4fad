// The outcome of one health check in one measurement, shared by the check kinds (http, nrql) and health.ts.
/** ok: passed; not ok with `error`: could not be evaluated (counts toward consecutive_error_limit); else failed. */
export type CheckResult = { ok: boolean; error?: string; value?: unknown; why?: string };
