/**
 * The evidence bundle: exactly what the classifier saw for one incident (the nginx error-log failures and
 * traffic, every diagnostics output, `nginx -T` and its parse, the network path check, the target's
 * configuration), redacted, in one gzipped JSON file next to the report (`<id>/bundle.json.gz`).
 *
 * The live diagnosis classifies the bundle itself ({@link reportFromBundle} on the redacted, JSON
 * round-tripped evidence), so `gatewatch replay` of the same bundle runs the same function on the same
 * bytes: the report it prints is byte-identical to the report.json the diagnosis wrote, offline, without
 * nginx or a network. Fields added to report.json later by the incident's lifecycle (resolution, acks,
 * notes, notification outcomes) are not in the bundle: {@link diagnosisPart} strips them from a live report to compare.
 */

import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TargetConfig } from '../core/config.ts';
import { classify } from '../core/diagnosis/classify.ts';
import type { DiagnosisEvidence } from '../core/diagnosis/evidence.ts';
import { buildReport, type ReportFrame } from '../core/diagnosis/report.ts';
import { lintExplanations } from '../core/lint/lint.ts';
import { REDACTED, redactHeaders, redactText } from '../core/redact.ts';
import type { Recurrence, Report } from '../core/types.ts';

export const BUNDLE_KIND = 'gatewatch-evidence-bundle';
export const BUNDLE_FILE = 'bundle.json.gz';

export interface EvidenceBundle {
  kind: typeof BUNDLE_KIND;
  bundleVersion: 1;
  /** The workflow input the report's header comes from. */
  frame: ReportFrame;
  /** When the report was written (its timeline's "report written"). */
  writtenAt: string;
  /** The classifier's input, redacted. */
  evidence: DiagnosisEvidence;
  /** The target's configuration, secrets redacted. */
  config: { target: unknown };
  recurrence?: Recurrence;
  /** SHA-256 of the report.json text the diagnosis wrote from this bundle. */
  report: { sha256: string };
}

/** A file that is not a gatewatch evidence bundle (or one of a version this gatewatch does not read). */
export class BundleFormatError extends Error {
  override name = 'BundleFormatError';
}

/** Strings redacted wherever they are; values under a secret-naming key removed outright. */
function redactDeep(value: unknown, byKey: boolean): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, byKey));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [
        key,
        byKey && typeof v === 'string' && redactHeaders({ [key]: 'x' })[key] === REDACTED
          ? REDACTED
          : redactDeep(v, byKey),
      ]),
    );
  }
  return value;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** report.json's text: what the store holds and what `replay --json` prints. */
export function reportJsonText(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The report a bundle yields: classify its evidence, build the report, add its recurrence. */
export function reportFromBundle(bundle: EvidenceBundle): Report {
  const classification = classify(bundle.evidence);
  // The settings that made this verdict likely (gatewatch lint's rules, on the same `nginx -T`).
  const lint = lintExplanations(bundle.evidence.nginxConfig, bundle.evidence, classification.verdict);
  classification.findings.push(...lint.findings);
  classification.nextSteps.push(...lint.nextSteps.filter((s) => !classification.nextSteps.includes(s)));
  const report = buildReport(bundle.frame, classification, bundle.evidence, bundle.writtenAt);
  return bundle.recurrence === undefined ? report : { ...report, recurrence: bundle.recurrence };
}

/**
/**
 * The bundle of one diagnosis and the report it yields. The evidence is redacted and JSON round-tripped
 * first, so the live report comes from the very data a replay reads.
 */
export async function diagnoseIntoBundle(
  input: { frame: ReportFrame; evidence: DiagnosisEvidence; writtenAt: string; target: TargetConfig },
  recurrenceOf: (report: Report) => Promise<Recurrence | undefined> = async () => undefined,
): Promise<{ bundle: EvidenceBundle; report: Report }> {
  const bundle = JSON.parse(
    JSON.stringify({
      kind: BUNDLE_KIND,
      bundleVersion: 1,
      frame: input.frame,
      writtenAt: input.writtenAt,
      evidence: redactDeep(input.evidence, false),
      config: { target: redactDeep(input.target, true) },
      report: { sha256: '' },
    }),
  ) as EvidenceBundle;
  // Recurrence needs the fingerprint, which needs the verdict: classify, then ask, then add it.
  const recurrence = await recurrenceOf(reportFromBundle(bundle));
  if (recurrence !== undefined) bundle.recurrence = JSON.parse(JSON.stringify(recurrence)) as Recurrence;
  const report = reportFromBundle(bundle);
  bundle.report.sha256 = sha256(reportJsonText(report));
  return { bundle, report };
}

export function encodeBundle(bundle: EvidenceBundle): Uint8Array {
  return gzipSync(Buffer.from(JSON.stringify(bundle), 'utf8'), { level: 9 });
}

/** Reads a bundle file's bytes (gzipped or plain JSON); anything else is a {@link BundleFormatError}. */
export function decodeBundle(bytes: Uint8Array): EvidenceBundle {
  let text: string;
  try {
    text =
      bytes[0] === 0x1f && bytes[1] === 0x8b
        ? gunzipSync(bytes).toString('utf8')
        : Buffer.from(bytes).toString('utf8');
  } catch (error) {
    throw new BundleFormatError(`not a readable gzip file: ${(error as Error).message}`, { cause: error });
  }
  let value: Partial<EvidenceBundle>;
  try {
    value = JSON.parse(text) as Partial<EvidenceBundle>;
  } catch (error) {
    throw new BundleFormatError(`not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || value.kind !== BUNDLE_KIND)
    throw new BundleFormatError('not a gatewatch evidence bundle (no "kind": "gatewatch-evidence-bundle")');
  if (value.bundleVersion !== 1)
    throw new BundleFormatError(
      `bundle version ${String(value.bundleVersion)} is not one this gatewatch reads (1)`,
    );
  if (
    typeof value.frame !== 'object' ||
    typeof value.evidence !== 'object' ||
    typeof value.writtenAt !== 'string' ||
    typeof value.report?.sha256 !== 'string'
  )
    throw new BundleFormatError('the bundle lacks its frame, evidence, writtenAt or report hash');
  return value as EvidenceBundle;
}

export interface Replay {
  report: Report;
  text: string;
  /** The replayed report.json hashes to what the live diagnosis wrote. */
  identical: boolean;
  sha256: string;
}

/** Replays a bundle: the report, its report.json text, and whether it is byte-identical to the live one. */
export function replayBundle(bundle: EvidenceBundle): Replay {
  const report = reportFromBundle(bundle);
  const text = reportJsonText(report);
  const digest = sha256(text);
  return { report, text, identical: digest === bundle.report.sha256, sha256: digest };
}

/**
 * A live report.json without what the incident's lifecycle added after the diagnosis (resolution,
 * activity, who resolved it, notification outcomes): the part a replay reproduces byte for byte.
 */
export function diagnosisPart(report: Report): Report {
  const {
    resolvedAt: _r,
    durationSeconds: _d,
    activity: _a,
    resolvedBy: _b,
    notifications: _n,
    ...rest
  } = report;
  return { ...rest, timeline: report.timeline.filter((e) => !e.event.startsWith('incident resolved')) };
}
