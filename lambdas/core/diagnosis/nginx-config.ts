/**
 * `nginx-config-invalid`: the configuration on disk does not pass `nginx -t`. A test that failed only
 * because it could not open its pid, log or temp files (run as a user other than root) proves nothing about
 * the configuration: that is a check that could not run, said as such.
 */
import { redactText } from '../redact.ts';
import type { Finding } from '../types.ts';
import { type Cause, type Context, firstLine, MAX_QUOTED_LINES } from './context.ts';

/** What `nginx -t` said about the configuration: valid, invalid, or nothing (it could not run). */
export type NginxTestOutcome = 'passed' | 'invalid' | 'could-not-run' | 'not-run';

// `open() "/run/nginx.pid" failed (13: Permission denied)`, `mkdir() "/var/lib/nginx/body" failed (13: …)`.
const PERMISSION_LINE = /\b(?:open|mkdir|chown|bind)\(\) .*failed \((?:13|1): /;

export function nginxTestOutcome(ctx: Context): NginxTestOutcome {
  const test = ctx.nginxFacts?.nginxTest;
  if (!test) return 'not-run';
  if (test.ok) return 'passed';
  const fatal = test.output.split('\n').filter((line) => /\[(emerg|crit)\]/.test(line));
  if (fatal.length > 0 && fatal.every((line) => PERMISSION_LINE.test(line))) return 'could-not-run';
  return 'invalid';
}

function errorLines(ctx: Context): string[] {
  return (ctx.nginxFacts?.nginxTest?.output ?? '')
    .split('\n')
    .filter((line) => /\[(emerg|alert|crit|error)\]|failed/.test(line))
    .slice(0, MAX_QUOTED_LINES);
}

export function configInvalidCause(ctx: Context, role: 'verdict' | 'finding'): Cause {
  const test = ctx.nginxFacts?.nginxTest;
  const lines = errorLines(ctx);
  const finding: Finding = {
    category: 'nginx-config-invalid',
    severity: role === 'verdict' ? 'critical' : 'warning',
    title: 'The nginx configuration on disk does not pass `nginx -t`',
    evidence: [
      { source: 'nginx -t', excerpt: redactText(lines.join('\n') || (test?.output ?? '').slice(0, 500)) },
    ],
  };
  return {
    rootCause: 'nginx-config-invalid',
    peer: undefined,
    confidence: 0.95,
    summary: `The configuration on disk fails \`nginx -t\` (${firstLine(lines[0])}). The running nginx still uses the last good one, but a reload or restart will fail.`,
    findings: [finding],
    nextSteps: ['Fix the line `nginx -t` names, run `nginx -t` until it passes, then `nginx -s reload`.'],
    ruledOut: [],
  };
}

/** `nginx -t` stopped at a permission error: the configuration was not tested. */
export function configTestCouldNotRun(ctx: Context): { finding: Finding; nextStep: string } {
  const lines = errorLines(ctx);
  return {
    finding: {
      category: 'unknown',
      severity: 'info',
      title:
        '`nginx -t` could not run here: it stopped at a permission error (not root?), so the configuration was not tested',
      evidence: [{ source: 'nginx -t', excerpt: redactText(lines.join('\n')) }],
    },
    nextStep:
      'Run `sudo nginx -t` (or gatewatch as the user nginx runs as) to test the configuration: the check could not run as this user.',
  };
}
