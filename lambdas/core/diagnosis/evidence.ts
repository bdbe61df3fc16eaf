/**
 * Everything the classifier reads, gathered by the workflow's steps. Plain data: the steps load it from
 * the report store and the classifier never does I/O.
 */
import type { UpstreamConfig } from '../config.ts';
import type { HostFacts } from '../diagnostics/host-facts.ts';
import type { CheckResult } from '../diagnostics/parse.ts';
import type { NginxConfig } from '../nginx/config.ts';
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
 * How much of one log could be read for the window. The log source fills it (the logs step); the
 * classifier never calls a window `healthy` on a log it could not read.
 */
export interface LogCoverage {
  /**
   * - `read`: the log was read and at least one line in it was understood;
   * - `empty`: the log was read and holds no line for the window (nginx writes no error line when all is well);
   * - `missing`: the file or log group does not exist;
   * - `unreadable`: it exists but could not be opened or read (permissions, I/O), or none of its lines
   *   could be understood.
   */
  state: 'read' | 'empty' | 'missing' | 'unreadable';
  /** Lines looked at (in or near the window). */
  lines: number;
  /** Of those, lines that could not be understood (unknown prefix, random bytes, another format). */
  unreadable: number;
  /** A few unreadable lines (already redacted, each cut to a readable length), to show what was skipped. */
  samples: string[];
  /** Why the log is missing or unreadable, in the reader's words (`EACCES: permission denied, open …`). */
  detail?: string;
}

/** What the diagnosis could read of each log; absent when the log source does not report it. */
export interface EvidenceCoverage {
  errorLog?: LogCoverage;
  accessLog?: LogCoverage;
}

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
