// Shapes shared by the review gate: what the caller hands in, the evidence it gets back, and the
// policy read from the default branch (never from the pull request under review).

export type GatePolicy = { approvals: number; require: 'merged' | 'approved'; breakGlass: boolean };

export type GateInput = {
  repoDir: string;
  /** Absolute paths the run reads: runbook, environment file, templates, copied files. */
  files: string[];
  envName: string;
  runbookEnvironments: readonly string[];
  /** Optional extra policy from the caller; it can only make the bar higher, never lower it. */
  policy?: Partial<GatePolicy>;
  /** Environment file path relative to repoDir; its `gate:` is read at the default branch. */
  envFileRel: string;
  /** --break-glass reason. */
  breakGlass?: string;
  /** GITHUB_TOKEN / GH_TOKEN / GITHUB_API_URL / GITHUB_REPOSITORY / RUNBOOK_GATE_POLICY; default process.env. */
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  /** Deadline for all GitHub calls together (default 60 s). */
  timeoutMs?: number;
  /** Where the loud break-glass warning goes (default stderr). */
  warn?: (message: string) => void;
};

export type GateRule = { rule: string; ok: boolean; detail: string };

export type GateEvidence = {
  passed: boolean;
  breakGlass?: { reason: string; operator: string };
  repo: string;
  /** Local HEAD: the commit whose files run (pinned). */
  commit: string;
  /** The commit the reviews approved (the PR head); its run files equal the local ones when passed. */
  approvedCommit?: string;
  pr?: { number: number; url: string; title: string; author: string; mergedAt?: string };
  approvers: { login: string; id: number; at: string }[];
  /** Repo-relative path -> git blob SHA of every file the run reads. */
  blobs: Record<string, string>;
  rules: GateRule[];
  operator: string;
  policy?: GatePolicy & { source: string };
};
