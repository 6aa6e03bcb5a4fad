// The files `runbook init` writes: two environments (staging over SSH, prod over SSM and protected),
// a sample runbook with the editor modeline, the JSON Schemas it points at, and the example workflows.
import { readFileSync } from 'node:fs';

export type ScaffoldFile = { path: string; content: () => string };

const packageFile = (rel: string) => (): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

const STAGING = `# yaml-language-server: $schema=../schemas/environment.schema.json
# Staging, reached over SSH. Host keys are always checked against known_hosts.
protected: false
transport: ssh
vars:
  public_url: https://staging.example.com
groups:
  web:
    hosts:
      web1: { address: 10.0.1.5, user: deploy }
      web2: { address: 10.0.1.6, user: deploy }
ssh:
  known_hosts: ~/.ssh/known_hosts
`;

const PROD = `# yaml-language-server: $schema=../schemas/environment.schema.json
# Production, reached over AWS SSM (no SSH keys, no open ports); hosts are found by their tag.
# Protected: apply runs only the exact bytes approved in a merged pull request (the review gate),
# and only from CI that holds the credentials (see .github/workflows/runbook-apply.yml).
protected: true
transport: ssm
vars:
  public_url: https://app.example.com
ssm:
  region: ap-northeast-1
  targets:
    - { key: "tag:Role", values: [web] }
gate:
  approvals: 1
require_rollback: true
`;

const RUNBOOK = `# yaml-language-server: $schema=../schemas/runbook.schema.json
# A sample runbook from \`runbook init\`. Try: runbook validate runbooks/configure-app.yml
#                                        runbook plan runbooks/configure-app.yml -e staging
name: Configure the web app
hosts: web
environments: [staging, prod]
serial: [1, "50%"]            # one host first, then half of the rest at a time
vars:
  app_dir: /opt/app
  app_port: 8080
# newrelic: { entity: web-app-prod }   # deployment markers and NRQL health checks (NEW_RELIC_API_KEY)
tasks:
  - name: App folder
    file: { path: "{{ app_dir }}", state: directory, mode: "0755" }
    become: true
  - name: Keep the previous settings for rollback
    shell: "if [ -f {{ app_dir }}/app.env ]; then cp -p {{ app_dir }}/app.env {{ app_dir }}/app.env.previous; fi"
    changed_when: false
    become: true
  - name: App settings
    copy:
      dest: "{{ app_dir }}/app.env"
      mode: "0640"
      content: |
        PORT={{ app_port }}
        PUBLIC_URL={{ public_url }}
    become: true
    notify: restart app
handlers:
  - name: restart app
    service: { name: app, state: restarted }
    become: true
health:                        # after every apply; unhealthy = rollback
  initial_delay: 10s
  interval: 10s
  count: 6
  failure_limit: 1
  checks:
    - name: the app answers
      http: { url: "{{ public_url }}/health", status: 200 }
rollback:
  - name: Put the previous settings back
    shell: "if [ -f {{ app_dir }}/app.env.previous ]; then cp -p {{ app_dir }}/app.env.previous {{ app_dir }}/app.env; fi"
    become: true
  - name: Restart on the previous settings
    service: { name: app, state: restarted }
    become: true
`;

export const SAMPLE_RUNBOOK = 'runbooks/configure-app.yml';

export function scaffoldFiles(): ScaffoldFile[] {
  return [
    { path: 'environments/staging.yml', content: () => STAGING },
    { path: 'environments/prod.yml', content: () => PROD },
    { path: SAMPLE_RUNBOOK, content: () => RUNBOOK },
    { path: 'schemas/runbook.schema.json', content: packageFile('schemas/runbook.schema.json') },
    { path: 'schemas/environment.schema.json', content: packageFile('schemas/environment.schema.json') },
    { path: '.github/workflows/runbook-pr.yml', content: packageFile('examples/workflows/runbook-pr.yml') },
    { path: '.github/workflows/runbook-apply.yml', content: packageFile('examples/workflows/runbook-apply.yml') },
  ];
}
