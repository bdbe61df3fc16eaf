/** What every step needs from the outside, as ports. The local runner and the Lambda handlers build it. */
import type { GatewatchConfig, TargetConfig } from '../core/config.ts';
import type {
  ApprovalGate,
  CapacityScaler,
  Clock,
  DiagnosticsDispatcher,
  LogSource,
  NetworkInventory,
  Notifier,
  RemediationLedger,
  RemediationRunner,
  ReportStore,
  TargetProber,
} from '../ports.ts';
import type { ProbeHistorySource } from './incident-record.ts';

/** What the Remediate stage needs; absent where remediation is not wired (then no action ever runs). */
export interface RemediationPorts {
  world: 'local' | 'aws';
  runner: RemediationRunner;
  ledger: RemediationLedger;
  approvals: ApprovalGate;
  prober: TargetProber;
  /** AWS only: raises an Auto Scaling group. */
  scaler?: CapacityScaler;
  /** Milliseconds between verification checks. @default 1000 */
  verifyIntervalMs?: number;
}

export interface StepDeps {
  config: GatewatchConfig;
  logs: LogSource;
  dispatcher: DiagnosticsDispatcher;
  store: ReportStore;
  notifier: Notifier;
  clock: Clock;
  /** Where a target's logs are read from: file paths locally, log group names in AWS. */
  logLocations(target: TargetConfig): { error: string; access?: string };
  /** The host nginx runs on: `local`, or the target's EC2 instance id. */
  nginxHost(target: TargetConfig): string;
  /** The EC2 inventory to evaluate a target's network path with, when there is one. */
  network?: (target: TargetConfig) => NetworkInventory | undefined;
  /** The error log's UTC offset in minutes when the configuration does not give one. */
  defaultUtcOffsetMinutes: number;
  /** The Remediate stage's ports (see lambdas/steps/remediate.ts). */
  remediation?: RemediationPorts;
  /** Which world the step runs in, for a step that plans without ports (PlanRemediation's Lambda). */
  world?: 'local' | 'aws';
  /** This machine's name, for notifications when nginx runs here (`nginxHost` is `local`). */
  hostName?: string;
  /** Where a person opens a report file: a file:// URL locally, a console link in AWS. */
  reportLink?: (key: string) => string;
  /** Waits between notification retries. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds left before the runtime stops this step (a Lambda's remaining time); unbounded if absent. */
  timeLeftMs?: () => number;
  /** Probe minutes per target, for the incident index's availability (the watch loop's history locally). */
  probeHistory?: ProbeHistorySource;
}

/** Keys of an incident's objects in the report store. */
export const storeKeys = {
  nginxEvidence: (incidentId: string) => `${incidentId}/evidence/nginx.json`,
  hostEvidence: (incidentId: string, host: string) => `${incidentId}/evidence/host-${host}.json`,
  networkEvidence: (incidentId: string) => `${incidentId}/evidence/network.json`,
  report: (incidentId: string, extension: 'json' | 'md' | 'html') => `${incidentId}/report.${extension}`,
  bundle: (incidentId: string) => `${incidentId}/bundle.json.gz`,
} as const;

/** Thrown by a step whose input names a target the configuration does not have. */
export class UnknownTargetError extends Error {
  override name = 'UnknownTargetError';
}

export function findTarget(config: GatewatchConfig, name: string): TargetConfig {
  const target = config.targets.find((t) => t.name === name);
  if (!target) throw new UnknownTargetError(`no target named "${name}" in the configuration`);
  return target;
}

export function parseUtcOffset(offset: string | undefined, fallback: number): number {
  if (offset === undefined) return fallback;
  const match = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!match) return fallback;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}
