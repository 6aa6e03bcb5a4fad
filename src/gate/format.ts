// Human text of the gate's evidence for `runbook gate` and plan: PR, approvers, commits, blob SHAs,
// and every rule passed or failed, with what to do about each failure.
import type { GateEvidence } from './types.ts';

export function formatEvidence(e: GateEvidence): string {
  const lines = [`review gate: ${e.passed ? (e.breakGlass ? 'PASSED BY BREAK-GLASS' : 'PASSED') : 'REFUSED'}`];
  if (e.breakGlass) lines.push(`  !!! BREAK-GLASS by ${e.breakGlass.operator}: ${e.breakGlass.reason} (unreviewed run, recorded in the journal) !!!`);
  lines.push(`  repository  ${e.repo || '?'}`, `  commit      ${e.commit || '?'}${e.approvedCommit && e.approvedCommit !== e.commit ? ` (approved PR head ${e.approvedCommit})` : ''}`);
  if (e.pr) lines.push(`  pull request #${e.pr.number} ${e.pr.title} by @${e.pr.author}${e.pr.mergedAt ? `, merged ${e.pr.mergedAt}` : ', not merged'}`, `              ${e.pr.url}`);
  lines.push(`  approvers   ${e.approvers.length ? e.approvers.map((a) => `@${a.login} (id ${a.id}, ${a.at})`).join(', ') : 'none'}`);
  lines.push(`  operator    ${e.operator ? `@${e.operator}` : '?'}`);
  if (e.policy) lines.push(`  policy      ${e.policy.approvals} approval(s), require ${e.policy.require}, break-glass ${e.policy.breakGlass ? 'allowed' : 'off'} (${e.policy.source})`);
  lines.push('  files');
  for (const [path, sha] of Object.entries(e.blobs).sort(([a], [b]) => a.localeCompare(b))) lines.push(`    ${sha}  ${path}`);
  lines.push('  rules');
  for (const r of e.rules) lines.push(`    ${r.ok ? 'ok  ' : 'FAIL'} ${r.rule}: ${r.detail}`);
  return lines.join('\n') + '\n';
}
