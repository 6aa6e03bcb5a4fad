// Refuses runbooks and environment files that contain credentials: AWS access key ids, GitHub
// tokens, New Relic keys, private key blocks. The match itself is never printed, only its kind.
import type { Diagnostic } from '../errors.ts';

const PATTERNS: readonly { kind: string; re: RegExp; hint: string }[] = [
  { kind: 'an AWS access key id', re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, hint: 'use an IAM role or SSO profile (the default credential chain), never static keys' },
  { kind: 'a GitHub token', re: /\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}/, hint: 'pass tokens through GITHUB_TOKEN, never in files' },
  { kind: 'a New Relic key', re: /\bNRAK-[A-Z0-9]{20,}|\bNRII-[A-Za-z0-9_-]{20,}|\b[0-9a-f]{32,36}NRAL\b/, hint: 'use NEW_RELIC_API_KEY / NEW_RELIC_LICENSE_KEY from the environment' },
  { kind: 'a private key', re: /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/, hint: 'reference key files by path (ssh.identity), never inline' },
  { kind: 'an AWS secret access key', re: /aws_secret_access_key\s*[:=]\s*['"]?[A-Za-z0-9/+=]{40}/i, hint: 'use an IAM role or SSO profile' },
];

export function scanSecrets(file: string, text: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  text.split('\n').forEach((line, i) => {
    for (const p of PATTERNS) {
      const m = p.re.exec(line);
      if (m) out.push({ loc: { file, line: i + 1, col: m.index + 1 }, message: `contains ${p.kind}; refusing to load`, hint: p.hint });
    }
  });
  return out;
}

/** The same patterns masked out of a line, so the CLI's source excerpt never reprints a credential. */
export function maskSecrets(line: string): string {
  let out = line;
  for (const p of PATTERNS) out = out.replace(new RegExp(p.re.source, 'g' + p.re.flags), (m) => m.slice(0, 4) + '*'.repeat(Math.max(0, m.length - 4)));
  return out;
}
