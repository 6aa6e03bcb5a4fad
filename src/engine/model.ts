// The loaded, validated shapes of a runbook and an environment. Every task, check and health
// item keeps `at`, the source location of its YAML node, for error messages.
import type { SourceLoc } from '../errors.ts';

export type Duration = string | number; // "10s", "2m", "500ms" or seconds as a number

export interface TaskSpec {
  readonly at: SourceLoc;
  readonly name: string;
  /** The module key (`command`, `copy`, ...) or `block`. */
  readonly module: string;
  /** Raw (unrendered) module arguments as written; templates render them per host. */
  readonly args: unknown;
  /** JSON pointer of the task in its file, e.g. /tasks/3, for locOf(). */
  readonly pointer: string;
  readonly when?: string | readonly string[];
  readonly loop?: unknown;
  readonly loopVar: string;
  readonly register?: string;
  readonly changedWhen?: string | boolean;
  readonly failedWhen?: string | boolean;
  readonly retries?: number;
  readonly delay?: Duration;
  readonly until?: string;
  readonly notify: readonly string[];
  readonly tags: readonly string[];
  /** true/false, or a template ("{{ escalate }}") rendered per host. */
  readonly become?: boolean | string;
  readonly becomeUser?: string;
  readonly ignoreErrors?: boolean;
  readonly runOnce?: boolean;
  readonly delegateTo?: 'localhost';
  readonly timeout?: Duration;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly noLog?: boolean;
  /** block / rescue / always (module === 'block'). */
  readonly block?: readonly TaskSpec[];
  readonly rescue?: readonly TaskSpec[];
  readonly always?: readonly TaskSpec[];
}

export interface HttpCheckSpec {
  readonly url: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly form?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly body?: string;
  readonly status?: number | readonly number[];
  readonly contains?: string;
  readonly json_path?: Readonly<Record<string, unknown>>;
  readonly max_latency?: Duration;
  readonly timeout?: Duration;
}

export interface NrqlCheckSpec {
  readonly query: string;
  readonly fail_if?: string; // "> 1", "< 0.9"
  readonly pass_if?: string;
}

export interface HealthCheckSpec {
  readonly at: SourceLoc;
  readonly name: string;
  readonly http?: HttpCheckSpec;
  readonly nrql?: NrqlCheckSpec;
  /** Presets: apdex_below, error_rate_above, p95_latency_above (seconds), throughput_drop_above (percent). */
  readonly preset?: { readonly kind: 'apdex_below' | 'error_rate_above' | 'p95_latency_above' | 'throughput_drop_above'; readonly threshold: number; readonly window?: Duration };
}

export interface HealthSpec {
  readonly at: SourceLoc;
  readonly initialDelay: Duration;
  readonly interval: Duration;
  readonly count: number;
  readonly failureLimit: number;
  readonly consecutiveErrorLimit: number;
  readonly checks: readonly HealthCheckSpec[];
}

export interface Runbook {
  /** Absolute path of the runbook file. */
  readonly file: string;
  /** Folder that relative paths (templates, copied files) resolve from. */
  readonly dir: string;
  readonly source: string;
  readonly name: string;
  readonly hosts: string;
  readonly environments: readonly string[];
  readonly serial: readonly (number | string)[];
  readonly maxFailPercentage: number;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly noLogVars: readonly string[];
  readonly newrelic?: { readonly entity?: string; readonly guid?: string; readonly deploymentType?: string; readonly at: SourceLoc };
  readonly tasks: readonly TaskSpec[];
  readonly handlers: readonly TaskSpec[];
  readonly health?: HealthSpec;
  readonly rollback: readonly TaskSpec[];
  readonly hasRollback: boolean;
  readonly at: SourceLoc;
}

export interface HostSpec {
  readonly name: string;
  readonly address: string;
  readonly user?: string;
  readonly port?: number;
  readonly groups: readonly string[];
  readonly vars: Readonly<Record<string, unknown>>;
  readonly at: SourceLoc;
}

export interface GatePolicy {
  readonly approvals: number;
  readonly require: 'merged' | 'approved';
  readonly breakGlass: boolean;
}

export interface Environment {
  readonly name: string;
  readonly file: string;
  readonly source: string;
  readonly protected: boolean;
  readonly transport: 'local' | 'ssh' | 'ssm';
  readonly vars: Readonly<Record<string, unknown>>;
  readonly hosts: readonly HostSpec[];
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly ssh: {
    readonly knownHosts?: string;
    readonly identity?: string;
    readonly hostKeyPolicy: 'strict' | 'accept-new';
    readonly proxyJump?: string;
    readonly becomePasswordEnv?: string;
    readonly connectTimeout?: Duration;
  };
  readonly ssm: {
    readonly region?: string;
    readonly targets?: readonly { readonly key: string; readonly values: readonly string[] }[];
    readonly maxConcurrency?: string;
    readonly maxErrors?: string | number;
    readonly fleet?: boolean;
  };
  readonly gate: GatePolicy;
  readonly newrelic: { readonly required: boolean; readonly accountId?: number };
  readonly requireRollback: boolean;
  readonly lock: { readonly backend: 'file' | 'git'; readonly lease?: Duration };
  readonly at: SourceLoc;
}
