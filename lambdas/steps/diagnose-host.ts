/**
 * Steps 2a/2b, one host of the DiagnoseHosts Map: send the diagnostics script with validated parameters,
 * then collect its output (polled by the workflow), turn it into host facts and store them redacted.
 */

import type { TargetConfig } from '../core/config.ts';
import { type HostFacts, interpretHostFacts } from '../core/diagnostics/host-facts.ts';
import {
  buildDiagnosticsEnvironment,
  DIAGNOSTIC_CHECKS,
  type DiagnosticsParams,
  worstCaseSeconds,
} from '../core/diagnostics/params.ts';
import { parseDiagnosticsOutput } from '../core/diagnostics/parse.ts';
import { peerHostPort } from '../core/nginx/peer.ts';
import { redactText } from '../core/redact.ts';
import { type CommandRef, HostStepInputSchema, type PollResult } from './contracts.ts';
import { findTarget, type StepDeps, storeKeys } from './deps.ts';

/**
 * Seconds each check may take. Ten checks at 5 s (plus the kill grace) stay well inside the
 * SendDiagnostics Task's timeout, which also covers the local run of the whole script.
 */
export const CHECK_TIMEOUT_SECONDS = 5;

/** The script ran but reported that it could not run (bad parameters, no bash): the host has no facts. */
export class DiagnosticsFailedError extends Error {
  override name = 'DiagnosticsFailedError';
}

export async function sendDiagnostics(raw: unknown, deps: StepDeps): Promise<CommandRef> {
  const input = HostStepInputSchema.parse(raw);
  const target = findTarget(deps.config, input.target);
  const params = diagnosticsParams(target, input.host, deps.nginxHost(target), input.window);
  const environment = buildDiagnosticsEnvironment(params);
  const { commandId } = await deps.dispatcher.send({
    host: input.host,
    checks: [...params.checks],
    params: environment,
    timeoutSeconds: worstCaseSeconds(params),
  });
  return { commandId, host: input.host };
}

export async function collectDiagnostics(raw: unknown, deps: StepDeps): Promise<PollResult> {
  const input = HostStepInputSchema.parse(raw);
  if (!input.command) throw new DiagnosticsFailedError('no command was sent for this host');
  const attempt = (input.poll?.attempt ?? 0) + 1;
  const poll = await deps.dispatcher.collect({ host: input.host, commandId: input.command.commandId });
  if (poll.status === 'pending') return { status: 'pending', attempt };
  if (poll.status === 'failed' && !poll.result?.stdout.includes('@@GATEWATCH')) {
    throw new DiagnosticsFailedError(`diagnostics on ${input.host} failed: ${poll.reason}`);
  }
  const result = poll.result!;
  const facts = redactFacts(interpretHostFacts(parseDiagnosticsOutput(result.stdout)));
  if (result.timedOut) {
    facts.checks.push({
      name: 'script',
      status: 'error',
      durationMs: result.durationMs,
      detail: 'the diagnostics script hit its overall time limit; later checks are missing',
      output: '',
      truncated: false,
    });
  }
  const key = storeKeys.hostEvidence(input.incidentId, input.host);
  await deps.store.put(key, JSON.stringify(facts), 'application/json');
  return { status: 'done', attempt, key };
}

/** Only values from the configuration reach the script, never text from a log. */
export function diagnosticsParams(
  target: TargetConfig,
  host: string,
  nginxHost: string,
  window: { from: string; to: string },
): DiagnosticsParams {
  const onThisHost = target.upstreams.filter((u) => (u.host ?? nginxHost) === host);
  const hinted = onThisHost.find((u) => u.service !== undefined)?.service;
  const ports = onThisHost
    .map((u) => peerHostPort(u.address)?.port)
    .filter((p): p is number => p !== undefined);
  const minutes = Math.ceil((Date.parse(window.to) - Date.parse(window.from)) / 60_000);
  const params: DiagnosticsParams = {
    checks: [...DIAGNOSTIC_CHECKS],
    sinceMinutes: Math.min(10_080, Math.max(1, minutes)),
    checkTimeoutSeconds: CHECK_TIMEOUT_SECONDS,
  };
  if (host === nginxHost) {
    if (target.nginx.binary) params.nginxBin = target.nginx.binary;
    if (target.nginx.conf) params.nginxConf = target.nginx.conf;
    if (target.nginx.prefix) params.nginxPrefix = target.nginx.prefix;
  }
  if (hinted) {
    const [kind, name] = Object.entries(hinted)[0] as [DiagnosticsParams['serviceKind'] & string, string];
    params.serviceKind = kind;
    params.serviceName = name;
  }
  if (ports.length > 0) params.ports = ports;
  return params;
}

function redactFacts(facts: HostFacts): HostFacts {
  return {
    ...facts,
    checks: facts.checks.map((c) => ({
      ...c,
      output: redactText(c.output),
      ...(c.detail === undefined ? {} : { detail: redactText(c.detail) }),
    })),
    ...(facts.nginxDump === undefined ? {} : { nginxDump: redactText(facts.nginxDump) }),
    ...(facts.nginxTest === undefined
      ? {}
      : { nginxTest: { ...facts.nginxTest, output: redactText(facts.nginxTest.output) } }),
    ...(facts.service === undefined
      ? {}
      : { service: { ...facts.service, recentLog: facts.service.recentLog.map(redactText) } }),
  };
}
