/**
 * Step 4: load what the earlier steps stored, classify, write report.{json,md,html}. Its fallback,
 * `writeDegradedReport`, still writes a report when classifying failed.
 */

import type {
  DiagnosisEvidence,
  HostEvidence,
  NetworkEvidence,
  StepFailure,
} from '../core/diagnosis/evidence.ts';
import { isoSeconds } from '../core/diagnosis/incident-id.ts';
import { buildDegradedReport, type ReportFrame } from '../core/diagnosis/report.ts';
import type { HostFacts } from '../core/diagnostics/host-facts.ts';
import { type NginxConfig, parseNginxDump } from '../core/nginx/config.ts';
import { renderHtml, renderMarkdown } from '../core/report/index.ts';
import type { Report } from '../core/types.ts';
import type { ReportStore } from '../ports.ts';
import { type ReportRef, type ReportStepInput, ReportStepInputSchema } from './contracts.ts';
import { findTarget, type StepDeps, storeKeys } from './deps.ts';
import { diagnoseIntoBundle, encodeBundle } from './evidence-bundle.ts';
import type { NginxEvidence } from './gather-nginx-evidence.ts';
import { recordInIndex, recurrenceFor } from './incident-record.ts';

/** Evidence the step expected in the store and did not find. */
export class EvidenceMissingError extends Error {
  override name = 'EvidenceMissingError';
}

export async function classifyAndReport(raw: unknown, deps: StepDeps): Promise<ReportRef> {
  const input = ReportStepInputSchema.parse(raw);
  const target = findTarget(deps.config, input.target);
  const evidence = await loadEvidence(input, deps, target.upstreams);
  // The report comes from the evidence bundle (what `gatewatch replay` reads), not from a second path.
  const { bundle, report } = await diagnoseIntoBundle(
    { frame: frameOf(input), evidence, writtenAt: isoSeconds(deps.clock.now()), target },
    (draft) => recurrenceFor(deps.store, draft).catch(() => undefined),
  );
  await deps.store.put(storeKeys.bundle(report.incidentId), encodeBundle(bundle), 'application/gzip');
  return writeReport(report, deps, false);
}

export async function writeDegradedReport(raw: unknown, deps: StepDeps): Promise<ReportRef> {
  const input = ReportStepInputSchema.parse(raw);
  const report = buildDegradedReport(frameOf(input), stepFailures(input), isoSeconds(deps.clock.now()));
  return writeReport(report, deps, true);
}

/**
 * Writes report.{html,md,json} with the one renderer; HTML and Markdown first, so report.json appearing
 * last means the incident is complete. Returns the key of report.json.
 */
export async function storeReportFiles(report: Report, store: ReportStore): Promise<string> {
  const id = report.incidentId;
  await store.put(storeKeys.report(id, 'html'), renderHtml(report), 'text/html; charset=utf-8');
  await store.put(storeKeys.report(id, 'md'), renderMarkdown(report), 'text/markdown; charset=utf-8');
  const key = storeKeys.report(id, 'json');
  await store.put(key, `${JSON.stringify(report, null, 2)}\n`, 'application/json');
  return key;
}

async function writeReport(report: Report, deps: StepDeps, degraded: boolean): Promise<ReportRef> {
  const key = await storeReportFiles(report, deps.store);
  await recordInIndex(deps.store, report, {
    now: () => deps.clock.now(),
    config: deps.config,
    bundle: !degraded,
    ...(deps.probeHistory === undefined ? {} : { history: deps.probeHistory }),
  }).catch((error: unknown) => {
    // The report is written and complete; a failed index update must not turn it into a degraded one.
    console.error(`gatewatch: the incident index was not updated for ${report.incidentId}:`, error);
  });
  const decisive = report.findings[0]?.evidence[0]?.excerpt.split('\n')[0];
  const ref: ReportRef = {
    key,
    location: deps.store.locate(key),
    rootCause: report.verdict.rootCause,
    confidence: report.verdict.confidence,
    summary: report.verdict.summary.slice(0, 1000),
    degraded,
  };
  if (report.verdict.upstream !== undefined) ref.upstream = report.verdict.upstream;
  if (decisive !== undefined) ref.decisive = decisive.slice(0, 500);
  return ref;
}

function frameOf(input: ReportStepInput): ReportFrame {
  return {
    incidentId: input.incidentId,
    target: input.target,
    openedAt: input.openedAt,
    window: input.window,
    trigger: input.trigger,
  };
}

function stepFailures(input: ReportStepInput): StepFailure[] {
  const failures: StepFailure[] = [];
  const add = (step: string, error: { Error: string; Cause?: string | undefined } | undefined) => {
    if (!error) return;
    const failure: StepFailure = { step, error: error.Error };
    if (error.Cause !== undefined) failure.cause = error.Cause;
    failures.push(failure);
  };
  add('GatherNginxEvidence', input.gatherError);
  add('DiagnoseHosts', input.hostsError);
  add('CheckNetworkPath', input.networkError);
  add('ClassifyAndReport', input.reportError);
  return failures;
}

async function readJson<T>(deps: StepDeps, key: string | undefined): Promise<T | undefined> {
  if (key === undefined) return undefined;
  const text = await deps.store.get(key);
  if (text === undefined) throw new EvidenceMissingError(`${key} is not in the report store`);
  return JSON.parse(text) as T;
}

async function loadEvidence(
  input: ReportStepInput,
  deps: StepDeps,
  upstreams: DiagnosisEvidence['target']['upstreams'],
): Promise<DiagnosisEvidence> {
  const nginx = await readJson<NginxEvidence>(deps, input.evidence?.key);
  const failures = stepFailures(input);
  const hosts: HostEvidence[] = [];
  for (const outcome of input.hosts ?? []) {
    const host: HostEvidence = { host: outcome.host, status: outcome.status };
    if (outcome.status === 'done') {
      const facts = await readJson<HostFacts>(deps, outcome.key);
      if (facts) host.facts = facts;
    } else {
      host.error =
        outcome.status === 'timed-out'
          ? `no result after ${outcome.attempts ?? '?'} polls`
          : `${outcome.error ?? 'error'}: ${outcome.cause ?? ''}`;
    }
    hosts.push(host);
  }
  const evidence: DiagnosisEvidence = {
    target: { name: input.target, upstreams },
    window: input.window,
    logsOnly: input.logsOnly,
    errorLogSource: nginx?.errorLogSource ?? 'nginx error log',
    hosts,
    stepFailures: failures,
  };
  if (nginx) {
    evidence.errorLog = nginx.errorLog;
    if (nginx.traffic) evidence.traffic = nginx.traffic;
    if (nginx.accessLogSource) evidence.accessLogSource = nginx.accessLogSource;
    if (nginx.coverage) evidence.coverage = nginx.coverage;
    if (nginx.errorLogError) {
      failures.push({ step: 'GatherNginxEvidence', error: 'error log not read', cause: nginx.errorLogError });
    }
    if (nginx.errorLogPartial) {
      failures.push({
        step: 'GatherNginxEvidence',
        error: 'error log read in part (time budget)',
        cause: nginx.errorLogPartial,
      });
    }
    if (nginx.accessLogError) {
      failures.push({
        step: 'GatherNginxEvidence',
        error: 'access log not read',
        cause: nginx.accessLogError,
      });
    }
  }
  const dump = hosts.find((h) => h.facts?.nginxDump)?.facts?.nginxDump;
  if (dump) {
    try {
      evidence.nginxConfig = parseNginxDump(dump) satisfies NginxConfig;
    } catch (error) {
      evidence.nginxConfigError = error instanceof Error ? error.message : String(error);
    }
  }
  if (input.network?.status === 'checked') {
    const network = await readJson<NetworkEvidence>(deps, input.network.key);
    if (network) evidence.network = network;
  } else if (input.network) {
    evidence.network = { status: 'skipped', blockedBy: [], ruledOut: [], reason: input.network.reason ?? '' };
  }
  return evidence;
}
