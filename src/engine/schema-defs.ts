// Builds the JSON Schemas written to schemas/*.schema.json (`npm run schema`). Module argument
// schemas come from the task registry, so the docs, editor hints and validation are one source.
import type { JsonSchema, TaskModule } from '../tasks/types.ts';

const DURATION_PATTERN = '^((\\d+(\\.\\d+)?)(ms|s|m|h))+$|^\\d+(\\.\\d+)?$';
export const duration = (description: string): JsonSchema => ({
  description, examples: ['10s', '2m', '500ms'],
  anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: DURATION_PATTERN }],
});
const strOrList = (description: string): JsonSchema => ({
  description, anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
});
const expr = (description: string): JsonSchema => ({
  description, anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }],
});
const vars = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: true });

/** Task keywords (DESIGN.md) — everything on a task that is not the module key. */
export const taskKeywords: Record<string, JsonSchema> = {
  name: { type: 'string', description: 'What this task does, shown in output and the journal.' },
  when: expr('Run only when this expression is true (all of them, for a list).'),
  loop: { description: 'Run once per item; the item is `item` (or loop_control.loop_var).', anyOf: [{ type: 'array' }, { type: 'string', pattern: '\\{\\{' }] },
  loop_control: { type: 'object', additionalProperties: false, description: 'Loop options.',
    properties: { loop_var: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the loop variable (default item).' } } },
  register: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Save the result (rc, stdout, stderr, changed, failed, ...) under this variable name.' },
  changed_when: { description: 'Expression deciding whether the task counts as changed.', anyOf: [{ type: 'string' }, { type: 'boolean' }] },
  failed_when: { description: 'Expression deciding whether the task failed.', anyOf: [{ type: 'string' }, { type: 'boolean' }] },
  retries: { type: 'integer', minimum: 0, maximum: 1000, description: 'Try again this many times while failing or until `until` holds.' },
  delay: duration('Wait between retries.'),
  until: { type: 'string', description: 'Retry until this expression is true (register holds the latest result).' },
  notify: strOrList('Handlers to run once at the end of the batch when this task changed something.'),
  tags: strOrList('Tags for --tags / --skip-tags.'),
  become: { description: 'Run as root (sudo -n) or as become_user; may be a template such as "{{ escalate }}".', anyOf: [{ type: 'boolean' }, { type: 'string', pattern: '\\{\\{' }] },
  become_user: { type: 'string', description: 'User to become (implies become).' },
  ignore_errors: { type: 'boolean', description: 'A failure is reported but the host goes on.' },
  run_once: { type: 'boolean', description: 'Run on the first host of the batch only; the result is shared.' },
  delegate_to: { const: 'localhost', description: 'Run on the controller instead of the host.' },
  timeout: duration('Fail the task on a host after this long.'),
  vars: vars('Variables for this task only.'),
  no_log: { type: 'boolean', description: 'Hide this task\'s arguments and output in output and the journal.' },
  block: { type: 'array', items: { $ref: '#/$defs/task' }, description: 'Tasks run in order; on failure `rescue`, then always `always`.' },
  rescue: { type: 'array', items: { $ref: '#/$defs/task' }, description: 'Run when a task of the block failed.' },
  always: { type: 'array', items: { $ref: '#/$defs/task' }, description: 'Run after the block (and rescue), whatever happened.' },
};

function moduleDef(m: TaskModule<unknown>): JsonSchema {
  if (!m.freeForm) return m.schema;
  return { description: m.schema.description, anyOf: [{ type: 'string', description: 'Free form: ' + String(m.schema.description ?? '') }, m.schema] };
}

const httpCheck: JsonSchema = {
  type: 'object', additionalProperties: false, required: ['url'], description: 'An HTTP request from the engine host.',
  properties: {
    url: { type: 'string', description: 'URL to request.' }, method: { type: 'string', description: 'HTTP method (GET).' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Request headers.' },
    form: { type: 'object', additionalProperties: { type: 'string' }, description: 'Form fields (x-www-form-urlencoded).' },
    json: { description: 'JSON body.' }, body: { type: 'string', description: 'Raw body.' },
    status: { description: 'Expected status code(s).', anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
    contains: { type: 'string', description: 'Text the body must contain.' },
    json_path: { type: 'object', description: 'Expected values by JSON path, e.g. {"$.status": "ok"}.' },
    max_latency: duration('Slower than this is a failed measurement.'), timeout: duration('Request timeout.'),
  },
};

const healthCheck: JsonSchema = {
  type: 'object', additionalProperties: false, required: ['name'], description: 'One health check, run at every measurement.',
  properties: {
    name: { type: 'string', description: 'Name shown in output.' },
    http: httpCheck,
    nrql: { type: 'object', additionalProperties: false, required: ['query'], description: 'A New Relic NRQL query.',
      properties: { query: { type: 'string', description: 'NRQL; the first numeric value of the first result is compared.' },
        fail_if: { type: 'string', pattern: '^\\s*(<=|>=|==|!=|<|>)\\s*-?\\d+(\\.\\d+)?\\s*$', description: 'Fail when the value matches, e.g. "> 1".' },
        pass_if: { type: 'string', pattern: '^\\s*(<=|>=|==|!=|<|>)\\s*-?\\d+(\\.\\d+)?\\s*$', description: 'Pass only when the value matches, e.g. ">= 0.9".' } } },
    apdex_below: { type: 'number', description: 'Preset: fail when the app\'s Apdex is below this.' },
    error_rate_above: { type: 'number', description: 'Preset: fail when the error rate (percent) is above this.' },
    p95_latency_above: { type: 'number', description: 'Preset: fail when p95 response time (seconds) is above this.' },
    throughput_drop_above: { type: 'number', description: 'Preset: fail when throughput dropped by more than this percent vs the same window before the apply.' },
    window: duration('Preset query window (default 1m).'),
  },
};

export function buildRunbookSchema(modules: Record<string, TaskModule<any>>): JsonSchema {
  const moduleProps = Object.fromEntries(Object.entries(modules).map(([k, m]) => [k, moduleDef(m)]));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/runbook/runbook/schemas/runbook.schema.json',
    title: 'runbook', description: 'A deploy runbook: tasks run on hosts of an environment, then health checks, with rollback.',
    type: 'object', additionalProperties: false, required: ['name', 'hosts', 'environments', 'tasks'],
    properties: {
      name: { type: 'string', description: 'What this runbook does.' },
      hosts: { type: 'string', description: 'Group name, `all`, or a host pattern (web*, web1:web2).', examples: ['web', 'all'] },
      environments: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'The only environments this runbook may run on.', examples: [['staging', 'prod']] },
      serial: { description: 'Rolling batches: a count, a percentage, or a list of them.', examples: [1, '25%', [1, '50%']],
        anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+%$' }, { type: 'array', minItems: 1, items: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+%$' }] } }] },
      max_fail_percentage: { type: 'number', minimum: 0, maximum: 100, description: 'Stop the run when more than this percent of a batch failed (default 0).' },
      vars: vars('Runbook variables (environment vars and --extra-vars override them).'),
      no_log_vars: { type: 'array', items: { type: 'string' }, description: 'Variables whose values are always printed as ***.' },
      newrelic: { type: 'object', additionalProperties: false, description: 'Deployment markers and the APM entity for NRQL checks.',
        properties: { entity: { type: 'string', description: 'APM app name; must resolve to exactly one entity.' },
          guid: { type: 'string', description: 'Entity GUID (instead of entity).' },
          deployment_type: { enum: ['BASIC', 'BLUE_GREEN', 'CANARY', 'OTHER', 'ROLLING', 'SHADOW'], description: 'Change tracking deployment type.' } } },
      tasks: { type: 'array', items: { $ref: '#/$defs/task' }, description: 'Tasks in order.' },
      handlers: { type: 'array', items: { $ref: '#/$defs/task' }, description: 'Tasks run once per host at the end of a batch when notified.' },
      health: { type: 'object', additionalProperties: false, required: ['checks'], description: 'Health verification after the tasks of every apply.',
        properties: { initial_delay: duration('Wait before the first measurement.'), interval: duration('Time between measurements.'),
          count: { type: 'integer', minimum: 1, description: 'Number of measurements.' },
          failure_limit: { type: 'integer', minimum: 0, description: 'More failed measurements than this = unhealthy.' },
          consecutive_error_limit: { type: 'integer', minimum: 0, description: 'More consecutive checks that cannot be evaluated than this = unhealthy.' },
          checks: { type: 'array', minItems: 1, items: healthCheck } } },
      rollback: { type: 'array', items: { $ref: '#/$defs/task' }, description: 'Tasks run on changed hosts when tasks or health fail.' },
    },
    $defs: {
      task: { type: 'object', additionalProperties: false, description: 'One task: a module key plus keywords.',
        properties: { ...taskKeywords, ...moduleProps } },
    },
  };
}

export function buildEnvironmentSchema(): JsonSchema {
  const host: JsonSchema = { type: 'object', additionalProperties: false, description: 'One host.',
    properties: { address: { type: 'string', description: 'IP, DNS name (ssh) or instance id (ssm); default: the host name.' },
      user: { type: 'string', description: 'SSH user.' }, port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SSH port.' },
      vars: vars('Host variables.') } };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/runbook/runbook/schemas/environment.schema.json',
    title: 'runbook environment', description: 'An environment: hosts, transport, variables and policies.',
    type: 'object', additionalProperties: false, required: ['transport'],
    properties: {
      protected: { type: 'boolean', description: 'apply needs the review gate (plan never does).' },
      transport: { enum: ['local', 'ssh', 'ssm'], description: 'How hosts are reached.' },
      vars: vars('Environment variables for templates (override runbook vars).'),
      groups: { type: 'object', description: 'Host groups.', additionalProperties: { type: 'object', additionalProperties: false,
        properties: { hosts: { type: 'object', additionalProperties: { anyOf: [host, { type: 'null' }] }, description: 'Hosts by name.' },
          vars: vars('Group variables.') } } },
      ssh: { type: 'object', additionalProperties: false, description: 'SSH settings.', properties: {
        known_hosts: { type: 'string', description: 'known_hosts file (default ~/.ssh/known_hosts). Host keys are always checked.' },
        identity: { type: 'string', description: 'Private key file (else ssh-agent, else default keys).' },
        host_key_policy: { enum: ['strict', 'accept-new'], description: 'accept-new records unknown host keys (never changed ones).' },
        proxy_jump: { type: 'string', description: 'Jump host user@host:port.' },
        become_password_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', description: 'Environment variable holding the sudo password.' },
        connect_timeout: duration('Connection timeout.') } },
      ssm: { type: 'object', additionalProperties: false, description: 'AWS Systems Manager settings.', properties: {
        region: { type: 'string', description: 'AWS region (else AWS_REGION).' },
        targets: { type: 'array', description: 'Discover hosts by tag.', items: { type: 'object', additionalProperties: false, required: ['key', 'values'],
          properties: { key: { type: 'string', description: 'tag:Name style key.' }, values: { type: 'array', items: { type: 'string' }, description: 'Tag values.' } } } },
        max_concurrency: { type: 'string', description: 'SSM MaxConcurrency in fleet mode, e.g. "25%".' },
        max_errors: { anyOf: [{ type: 'string' }, { type: 'integer' }], description: 'SSM MaxErrors in fleet mode.' },
        fleet: { type: 'boolean', description: 'Send each task once with Targets and let SSM fan out.' } } },
      gate: { type: 'object', additionalProperties: false, description: 'Review gate policy (read from the default branch).', properties: {
        approvals: { type: 'integer', minimum: 1, description: 'Distinct approvers needed (default 1).' },
        require: { enum: ['merged', 'approved'], description: 'merged: the approved PR must be merged (default).' },
        break_glass: { type: 'boolean', description: 'Allow --break-glass "reason" on this environment.' } } },
      newrelic: { type: 'object', additionalProperties: false, description: 'New Relic settings.', properties: {
        required: { type: 'boolean', description: 'Refuse to apply when New Relic is not configured.' },
        account_id: { type: 'integer', description: 'Account id for NRQL (else NEW_RELIC_ACCOUNT_ID).' } } },
      require_rollback: { type: 'boolean', description: 'A runbook without rollback: or health: is an error here.' },
      lock: { type: 'object', additionalProperties: false, description: 'Where the apply lock lives.', properties: {
        backend: { enum: ['file', 'git'], description: 'file: .runbook/locks; git: a ref on the origin remote, shared by operators.' },
        lease: duration('Lease after which a lock counts as stale (default 2h).') } },
    },
  };
}
