// Builds the JSON Schemas written to schemas/*.schema.json (`npm run schema`). Module argument
// schemas come from the task registry, so the docs, editor hints and validation are one source.
import type { JsonSchema, TaskModule } from '../tasks/types.ts';

const DURATION_PATTERN = '^((\\d+(\\.\\d+)?)(ms|s|m|h))+$|^\\d+(\\.\\d+)?$';
export const duration = (description: string): JsonSchema => ({
  description, examples: ['10s', '2m', '500ms'],
  anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: DURATION_PATTERN }],
});
const strOrList = (description: string, examples: unknown[]): JsonSchema => ({
  description, examples, anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
});
const expr = (description: string, examples: unknown[]): JsonSchema => ({
  description, examples, anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }],
});
const vars = (description: string, examples: unknown[] = [{ app_port: 8080, public_url: 'https://app.example.com' }]): JsonSchema =>
  ({ type: 'object', description, additionalProperties: true, examples });
const taskList = (description: string, examples: unknown[]): JsonSchema => ({ type: 'array', items: { $ref: '#/$defs/task' }, description, examples });
const RESTART = { name: 'restart app', service: { name: 'app', state: 'restarted' }, become: true };

/** Task keywords (DESIGN.md) — everything on a task that is not the module key. */
export const taskKeywords: Record<string, JsonSchema> = {
  name: { type: 'string', description: 'What this task does, shown in output and the journal.', examples: ['Install the runtime'] },
  when: expr('Run only when this expression is true (all of them, for a list).', ["ansible_os_family == 'Debian'", ['runtimes.rc == 0', "'6.0' not in runtimes.stdout"]]),
  loop: { description: 'Run once per item; the item is `item` (or loop_control.loop_var).', examples: [['app', 'worker'], '{{ services }}'],
    anyOf: [{ type: 'array' }, { type: 'string', pattern: '\\{\\{' }] },
  loop_control: { type: 'object', additionalProperties: false, description: 'Loop options.', examples: [{ loop_var: 'svc' }],
    properties: { loop_var: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the loop variable (default item).', examples: ['svc'] } } },
  register: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Save the result (rc, stdout, stderr, changed, failed, ...) under this variable name.', examples: ['runtimes'] },
  changed_when: { description: 'Expression deciding whether the task counts as changed.', examples: [false, "'Updated' in result.stdout"], anyOf: [{ type: 'string' }, { type: 'boolean' }] },
  failed_when: { description: 'Expression deciding whether the task failed.', examples: ["result.rc not in [0, 3]"], anyOf: [{ type: 'string' }, { type: 'boolean' }] },
  retries: { type: 'integer', minimum: 0, maximum: 1000, description: 'Try again this many times while failing or until `until` holds.', examples: [5] },
  delay: duration('Wait between retries.'),
  until: { type: 'string', description: 'Retry until this expression is true (register holds the latest result).', examples: ["health.status == 200"] },
  notify: strOrList('Handlers to run once at the end of the batch when this task changed something.', ['restart app', ['reload nginx', 'restart app']]),
  tags: strOrList('Tags for --tags / --skip-tags.', ['infra', ['infra', 'config']]),
  become: { description: 'Run as root (sudo -n) or as become_user; may be a template such as "{{ escalate }}".', examples: [true, '{{ escalate }}'],
    anyOf: [{ type: 'boolean' }, { type: 'string', pattern: '\\{\\{' }] },
  become_user: { type: 'string', description: 'User to become (implies become).', examples: ['app'] },
  ignore_errors: { type: 'boolean', description: 'A failure is reported but the host goes on.' },
  run_once: { type: 'boolean', description: 'Run on the first host of the batch only; the result is shared.' },
  delegate_to: { const: 'localhost', description: 'Run on the controller instead of the host.' },
  timeout: duration('Fail the task on a host after this long.'),
  vars: vars('Variables for this task only.', [{ unit: 'app.service' }]),
  no_log: { type: 'boolean', description: 'Hide this task\'s arguments and output in output and the journal.' },
  block: taskList('Tasks run in order; on failure `rescue`, then always `always`.', [[{ name: 'Migrate', command: 'app migrate' }]]),
  rescue: taskList('Run when a task of the block failed.', [[{ name: 'Restore the backup', command: 'app restore --latest' }]]),
  always: taskList('Run after the block (and rescue), whatever happened.', [[{ name: 'Leave maintenance mode', command: 'app maintenance off' }]]),
};

type Props = Record<string, JsonSchema>;
const firstExample = (p: JsonSchema | undefined): unknown => (Array.isArray(p?.examples) ? p.examples[0] : undefined);

/** An example of a module's arguments, built from its own argument examples: the required ones and the first optional one. */
function moduleExample(m: TaskModule<unknown>): Record<string, unknown> {
  const props = (m.schema.properties ?? {}) as Props;
  const required = Array.isArray(m.schema.required) ? (m.schema.required as string[]) : [];
  const optional = Object.keys(props).find((k) => !required.includes(k) && firstExample(props[k]) !== undefined);
  return Object.fromEntries([...required, ...(optional ? [optional] : [])].flatMap((k) => firstExample(props[k]) === undefined ? [] : [[k, firstExample(props[k])]]));
}

function moduleDef(m: TaskModule<unknown>): JsonSchema {
  const examples = Array.isArray(m.schema.examples) ? m.schema.examples : [moduleExample(m)];
  if (!m.freeForm) return { ...m.schema, examples };
  // the free-form string is the value of one argument (cmd, msg): find which, and show its example as the string form
  const props = (m.schema.properties ?? {}) as Props;
  const key = Object.entries(m.freeForm('\u0000') as Record<string, unknown>).find(([, v]) => v === '\u0000')?.[0];
  const text = key ? firstExample(props[key]) : undefined;
  return { description: m.schema.description, examples: [...(text === undefined ? [] : [text]), ...examples],
    anyOf: [{ type: 'string', description: 'Free form: ' + String(m.schema.description ?? '') }, m.schema] };
}

const httpCheck: JsonSchema = {
  type: 'object', additionalProperties: false, required: ['url'], description: 'An HTTP request from the engine host.',
  properties: {
    url: { type: 'string', description: 'URL to request.', examples: ['{{ public_url }}/login'] },
    method: { type: 'string', description: 'HTTP method (GET).', examples: ['POST'] },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Request headers.', examples: [{ Accept: 'text/html' }] },
    form: { type: 'object', additionalProperties: { type: 'string' }, description: 'Form fields (x-www-form-urlencoded).',
      examples: [{ user: 'probe', password: '{{ secrets.probe_password }}' }] },
    json: { description: 'JSON body.', examples: [{ user: 'probe' }] },
    body: { type: 'string', description: 'Raw body.', examples: ['ping'] },
    status: { description: 'Expected status code(s).', examples: [200, [200, 302]], anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
    contains: { type: 'string', description: 'Text the body must contain.', examples: ['Welcome'] },
    json_path: { type: 'object', description: 'Expected values by JSON path, e.g. {"$.status": "ok"}.', examples: [{ '$.status': 'ok' }] },
    max_latency: duration('Slower than this is a failed measurement.'), timeout: duration('Request timeout.'),
  },
};

const CONDITION = '^\\s*(<=|>=|==|!=|<|>)\\s*-?\\d+(\\.\\d+)?\\s*$';
const ERROR_RATE = "SELECT percentage(count(*), WHERE error IS true) FROM Transaction WHERE entityGuid = '{{ newrelic.guid }}' SINCE 1 minute ago";

const healthCheck: JsonSchema = {
  type: 'object', additionalProperties: false, required: ['name'], description: 'One health check, run at every measurement.',
  properties: {
    name: { type: 'string', description: 'Name shown in output.', examples: ['users can log in'] },
    http: { ...httpCheck, examples: [{ url: '{{ public_url }}/login', method: 'POST', form: { user: 'probe', password: '{{ secrets.probe_password }}' }, status: 200, contains: 'Welcome' }] },
    nrql: { type: 'object', additionalProperties: false, required: ['query'], description: 'A New Relic NRQL query.', examples: [{ query: ERROR_RATE, fail_if: '> 1' }],
      properties: { query: { type: 'string', description: 'NRQL; the first numeric value of the first result is compared.', examples: [ERROR_RATE] },
        fail_if: { type: 'string', pattern: CONDITION, description: 'Fail when the value matches, e.g. "> 1".', examples: ['> 1'] },
        pass_if: { type: 'string', pattern: CONDITION, description: 'Pass only when the value matches, e.g. ">= 0.9".', examples: ['>= 0.9'] } } },
    apdex_below: { type: 'number', description: 'Preset: fail when the app\'s Apdex is below this.', examples: [0.85] },
    error_rate_above: { type: 'number', description: 'Preset: fail when the error rate (percent) is above this.', examples: [1] },
    p95_latency_above: { type: 'number', description: 'Preset: fail when p95 response time (seconds) is above this.', examples: [1.5] },
    throughput_drop_above: { type: 'number', description: 'Preset: fail when throughput dropped by more than this percent vs the same window before the apply.', examples: [50] },
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
      name: { type: 'string', description: 'What this runbook does.', examples: ['Upgrade .NET runtime for the web app'] },
      hosts: { type: 'string', description: 'Group name, `all`, or a host pattern (web*, web1:web2).', examples: ['web', 'all'] },
      environments: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'The only environments this runbook may run on.', examples: [['staging', 'prod']] },
      serial: { description: 'Rolling batches: a count, a percentage, or a list of them.', examples: [1, '25%', [1, '50%']],
        anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+%$' }, { type: 'array', minItems: 1, items: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+%$' }] } }] },
      max_fail_percentage: { type: 'number', minimum: 0, maximum: 100, description: 'Stop the run when more than this percent of a batch failed (default 0).', examples: [0, 25] },
      vars: vars('Runbook variables (environment vars and --extra-vars override them).', [{ dotnet_version: '6.0' }]),
      no_log_vars: { type: 'array', items: { type: 'string' }, description: 'Variables whose values are always printed as ***.', examples: [['db_password']] },
      newrelic: { type: 'object', additionalProperties: false, description: 'Deployment markers and the APM entity for NRQL checks.',
        examples: [{ entity: 'web-app-prod', deployment_type: 'ROLLING' }],
        properties: { entity: { type: 'string', description: 'APM app name; must resolve to exactly one entity.', examples: ['web-app-{{ environment }}'] },
          guid: { type: 'string', description: 'Entity GUID (instead of entity).', examples: ['MTIzNDU2fEFQTXxBUFBMSUNBVElPTnw3ODkw'] },
          deployment_type: { enum: ['BASIC', 'BLUE_GREEN', 'CANARY', 'OTHER', 'ROLLING', 'SHADOW'], description: 'Change tracking deployment type.' } } },
      tasks: taskList('Tasks in order.', [[{ name: 'Install the runtime', package: { name: 'dotnet-runtime-6.0', state: 'present' }, become: true }]]),
      handlers: taskList('Tasks run once per host at the end of a batch when notified.', [[RESTART]]),
      health: { type: 'object', additionalProperties: false, required: ['checks'], description: 'Health verification after the tasks of every apply.',
        examples: [{ initial_delay: '10s', interval: '10s', count: 6, failure_limit: 1, checks: [{ name: 'the app answers', http: { url: '{{ public_url }}/health', status: 200 } }] }],
        properties: { initial_delay: duration('Wait before the first measurement.'), interval: duration('Time between measurements.'),
          count: { type: 'integer', minimum: 1, description: 'Number of measurements.', examples: [6] },
          failure_limit: { type: 'integer', minimum: 0, description: 'More failed measurements than this = unhealthy.', examples: [1] },
          consecutive_error_limit: { type: 'integer', minimum: 0, description: 'More consecutive checks that cannot be evaluated than this = unhealthy.', examples: [2] },
          checks: { type: 'array', minItems: 1, items: healthCheck, description: 'The checks of every measurement: HTTP requests, NRQL queries or New Relic presets.',
            examples: [[{ name: 'error rate', nrql: { query: ERROR_RATE, fail_if: '> 1' } }, { name: 'apdex', apdex_below: 0.85 }]] } } },
      rollback: taskList('Tasks run on changed hosts when tasks or health fail.', [[{ name: 'Restore the previous runtime', command: 'app-runtime use {{ previous_version }}' }, RESTART]]),
    },
    $defs: {
      task: { type: 'object', additionalProperties: false, description: 'One task: a module key plus keywords.',
        properties: { ...taskKeywords, ...moduleProps } },
    },
  };
}

export function buildEnvironmentSchema(): JsonSchema {
  const host: JsonSchema = { type: 'object', additionalProperties: false, description: 'One host.',
    properties: { address: { type: 'string', description: 'IP, DNS name (ssh) or instance id (ssm); default: the host name.', examples: ['10.0.1.5', 'i-0abc1234def567890'] },
      user: { type: 'string', description: 'SSH user.', examples: ['deploy'] }, port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SSH port.', examples: [22] },
      vars: vars('Host variables.', [{ app_port: 8081 }]) } };
  const web = { web: { hosts: { web1: { address: '10.0.1.5', user: 'deploy' }, web2: { address: '10.0.1.6', user: 'deploy' } } } };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/runbook/runbook/schemas/environment.schema.json',
    title: 'runbook environment', description: 'An environment: hosts, transport, variables and policies.',
    type: 'object', additionalProperties: false, required: ['transport'],
    properties: {
      protected: { type: 'boolean', description: 'apply needs the review gate (plan never does).' },
      transport: { enum: ['local', 'ssh', 'ssm'], description: 'How hosts are reached.' },
      vars: vars('Environment variables for templates (override runbook vars).', [{ public_url: 'https://app.example.com' }]),
      groups: { type: 'object', description: 'Host groups.', examples: [web], additionalProperties: { type: 'object', additionalProperties: false,
        properties: { hosts: { type: 'object', additionalProperties: { anyOf: [host, { type: 'null' }] }, description: 'Hosts by name.', examples: [web.web.hosts] },
          vars: vars('Group variables.', [{ app_port: 8080 }]) } } },
      ssh: { type: 'object', additionalProperties: false, description: 'SSH settings.', examples: [{ known_hosts: '~/.ssh/known_hosts', identity: '~/.ssh/id_ed25519' }], properties: {
        known_hosts: { type: 'string', description: 'known_hosts file (default ~/.ssh/known_hosts). Host keys are always checked.', examples: ['~/.ssh/known_hosts'] },
        identity: { type: 'string', description: 'Private key file (else ssh-agent, else default keys).', examples: ['~/.ssh/id_ed25519'] },
        host_key_policy: { enum: ['strict', 'accept-new'], description: 'accept-new records unknown host keys (never changed ones).' },
        proxy_jump: { type: 'string', description: 'Jump host user@host:port.', examples: ['deploy@bastion.example.com:22'] },
        become_password_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', description: 'Environment variable holding the sudo password.', examples: ['RUNBOOK_SECRET_SUDO_PASSWORD'] },
        connect_timeout: duration('Connection timeout.') } },
      ssm: { type: 'object', additionalProperties: false, description: 'AWS Systems Manager settings.',
        examples: [{ region: 'ap-northeast-1', targets: [{ key: 'tag:Role', values: ['web'] }], max_concurrency: '25%', max_errors: 0 }], properties: {
        region: { type: 'string', description: 'AWS region (else AWS_REGION).', examples: ['ap-northeast-1'] },
        targets: { type: 'array', description: 'Discover hosts by tag.', examples: [[{ key: 'tag:Role', values: ['web'] }]],
          items: { type: 'object', additionalProperties: false, required: ['key', 'values'],
            properties: { key: { type: 'string', description: 'tag:Name style key.', examples: ['tag:Role'] },
              values: { type: 'array', items: { type: 'string' }, description: 'Tag values.', examples: [['web']] } } } },
        max_concurrency: { type: 'string', description: 'SSM MaxConcurrency in fleet mode, e.g. "25%".', examples: ['25%', '10'] },
        max_errors: { anyOf: [{ type: 'string' }, { type: 'integer' }], description: 'SSM MaxErrors in fleet mode.', examples: [0, '10%'] },
        fleet: { type: 'boolean', description: 'Send each task once with Targets and let SSM fan out.' } } },
      gate: { type: 'object', additionalProperties: false, description: 'Review gate policy (read from the default branch).', examples: [{ approvals: 2, require: 'merged' }], properties: {
        approvals: { type: 'integer', minimum: 1, description: 'Distinct approvers needed (default 1).', examples: [2] },
        require: { enum: ['merged', 'approved'], description: 'merged: the approved PR must be merged (default).' },
        break_glass: { type: 'boolean', description: 'Allow --break-glass "reason" on this environment.' } } },
      newrelic: { type: 'object', additionalProperties: false, description: 'New Relic settings.', examples: [{ required: true, account_id: 1234567 }], properties: {
        required: { type: 'boolean', description: 'Refuse to apply when New Relic is not configured.' },
        account_id: { type: 'integer', description: 'Account id for NRQL (else NEW_RELIC_ACCOUNT_ID).', examples: [1234567] } } },
      require_rollback: { type: 'boolean', description: 'A runbook without rollback: or health: is an error here.' },
      lock: { type: 'object', additionalProperties: false, description: 'Where the apply lock lives.', examples: [{ backend: 'git', lease: '2h' }], properties: {
        backend: { enum: ['file', 'git'], description: 'file: .runbook/locks; git: a ref on the origin remote, shared by operators.' },
        lease: duration('Lease after which a lock counts as stale (default 2h).') } },
    },
  };
}
