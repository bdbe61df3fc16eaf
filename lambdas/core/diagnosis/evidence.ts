/**
 * Everything the classifier reads, gathered by the workflow's steps. Plain data: the steps load it from
 * the report store and the classifier never does I/O.
 */
import type { UpstreamConfig } from '../config.ts';
import type { HostFacts } from '../diagnostics/host-facts.ts';
import type { CheckResult } from '../diagnostics/parse.ts';
import type { NginxConfig } from '../nginx/config.ts';
import type { LogCoverage, NginxLogCoverage } from '../nginx/coverage.ts';
import type { ErrorLogSummary } from '../nginx/error-log.ts';
import type { TrafficSummary } from '../types.ts';

/** What happened on one host of the DiagnoseHosts Map. */
export interface HostEvidence {
  host: string;
  status: 'done' | 'timed-out' | 'failed';
  facts?: HostFacts;
  /** Why the host has no facts (SSM timed out, the script failed, the instance is gone). */
  error?: string;
}

/** A step of the workflow that failed; its absence of evidence is itself reported. */
export interface StepFailure {
  step: string;
  error: string;
  cause?: string;
}

/** The network path check, as the network step stores it. */
export interface NetworkEvidence {
  status: 'checked' | 'skipped';
  reason?: string;
  /** Components that block the path from nginx to the upstream, already explained. */
  blockedBy: {
    kind: 'security-group' | 'network-acl' | 'route-table' | 'host-firewall';
    id: string;
    direction: string;
    rule: string;
    fix: string;
  }[];
  /** What was checked and found open. */
  ruledOut: string[];
  /** What could not be established (no inventory, unreadable rules, rules gatewatch does not understand). */
  notes?: string[];
  peer?: string;
}

/**
 * What the diagnosis could read of each log: the log sources and the gather step fill it (one type, in
 * `core/nginx/coverage.ts`); absent when the log source does not report it.
 */
export type EvidenceCoverage = Partial<NginxLogCoverage>;
export type { LogCoverage };

export interface DiagnosisEvidence {
  target: { name: string; upstreams: UpstreamConfig[] };
  window: { from: string; to: string };
  logsOnly: boolean;
  errorLog?: ErrorLogSummary;
  /** Where the error log was read from (a path or a log group), for evidence sources. */
  errorLogSource: string;
  traffic?: TrafficSummary;
  accessLogSource?: string;
  /** Parsed `nginx -T` of the nginx host, when the diagnostics could run it. */
  nginxConfig?: NginxConfig;
  /** Why the configuration could not be read, when it could not. */
  nginxConfigError?: string;
  hosts: HostEvidence[];
  network?: NetworkEvidence;
  stepFailures: StepFailure[];
  /** How much of the logs could be read; see {@link LogCoverage}. */
  coverage?: EvidenceCoverage;
}

export type { CheckResult };
