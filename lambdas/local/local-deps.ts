import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConsoleNotifier } from '../adapters/local/console-notifier.ts';
import { EnvSecretResolver } from '../adapters/local/env-secret-resolver.ts';
import { FileLogSource } from '../adapters/local/file-log-source.ts';
import { FileRemediationLedger } from '../adapters/local/file-remediation-ledger.ts';
import { APPROVALS_DIR_NAME, FolderApprovalGate } from '../adapters/local/folder-approval-gate.ts';
import { FolderReportStore } from '../adapters/local/folder-report-store.ts';
import { HttpTargetProber } from '../adapters/local/http-target-prober.ts';
import { LocalDiagnosticsDispatcher } from '../adapters/local/local-diagnostics-dispatcher.ts';
import { ProbeHistoryFiles } from '../adapters/local/probe-history-files.ts';
import { ShellCommandRunner } from '../adapters/local/shell-command-runner.ts';
import { ShellRemediationRunner } from '../adapters/local/shell-remediation-runner.ts';
import { SnapshotNetworkInventory } from '../adapters/local/snapshot-network-inventory.ts';
import {
  type LazySmtpChannel,
  notificationChannels,
  smtpChannel,
} from '../adapters/notification-channels.ts';
import type { GatewatchConfig } from '../core/config.ts';
import type { DiagnosticsDispatcher, Notifier } from '../ports.ts';
import type { RemediationPorts, StepDeps } from '../steps/deps.ts';
import { NotifierChannels } from '../steps/notify.ts';

export interface LocalDepsOptions {
  /** Reports folder; the configuration's `reports.dir` by default. */
  out?: string;
  /**
   * `console`: the configured channels and the console; `silent`: the configured channels only (commands
   * that print the verdict themselves); `none`: nobody (a manual `diagnose` without `--notify`).
   */
  notify?: 'console' | 'silent' | 'none';
  /** How the diagnostics script reaches the hosts; this machine's shell by default. */
  dispatcher?: DiagnosticsDispatcher;
  /** Replace remediation ports (tests). */
  remediation?: Partial<RemediationPorts>;
}

/** Where the remediation ledger and host locks live, under the reports folder. */
export const REMEDIATION_DIR_NAME = '.gatewatch-remediation';

/** The local Remediate stage's ports: the actions script under bash, a ledger and approvals in the reports folder. */
export function localRemediationPorts(reportsDir: string): RemediationPorts {
  return {
    world: 'local',
    runner: new ShellRemediationRunner(),
    ledger: new FileRemediationLedger(join(reportsDir, REMEDIATION_DIR_NAME)),
    approvals: new FolderApprovalGate(join(reportsDir, APPROVALS_DIR_NAME)),
    prober: new HttpTargetProber('local'),
  };
}

/** The local world's ports: files, a folder, this host's shell, the console or SMTP. */
export function localDeps(config: GatewatchConfig, options: LocalDepsOptions = {}): StepDeps {
  const store = new FolderReportStore(options.out ?? config.reports.dir);
  return {
    config,
    logs: new FileLogSource(),
    dispatcher: options.dispatcher ?? new LocalDiagnosticsDispatcher(new ShellCommandRunner()),
    store,
    notifier: localNotifier(config, options.notify ?? 'console'),
    hostName: hostname(),
    reportLink: (key) => pathToFileURL(store.locate(key)).href,
    clock: { now: () => new Date() },
    logLocations: (target) => ({
      error: target.nginx.errorLog,
      ...(target.nginx.accessLog === undefined ? {} : { access: target.nginx.accessLog }),
    }),
    nginxHost: () => 'local',
    network: () =>
      config.network?.snapshot ? new SnapshotNetworkInventory(config.network.snapshot) : undefined,
    defaultUtcOffsetMinutes: -new Date().getTimezoneOffset(),
    remediation: {
      ...localRemediationPorts(options.out ?? config.reports.dir),
      ...options.remediation,
    },
    probeHistory: new ProbeHistoryFiles(options.out ?? config.reports.dir),
    world: 'local',
  };
}

/** The SMTP channel the configuration asks for (`notify.smtp` and at least one `notify.email`), if any. */
export function smtpNotifierFor(config: GatewatchConfig): LazySmtpChannel | undefined {
  return smtpChannel(config.notify, new EnvSecretResolver());
}

/** The channels `notify` configures, secrets from this process's environment. */
export function configuredChannels(config: GatewatchConfig): Notifier[] {
  return notificationChannels(config.notify, new EnvSecretResolver());
}

function localNotifier(config: GatewatchConfig, mode: 'console' | 'silent' | 'none'): Notifier {
  const channels = configuredChannels(config);
  // Incident notices are skipped; an approval request (approve mode) still reaches the channels, or the
  // repair would wait for a person nobody told.
  if (mode === 'none')
    return new NotifierChannels(channels, 'manual diagnose: notifications are sent only with --notify');
  return new NotifierChannels(mode === 'console' ? [new ConsoleNotifier(), ...channels] : channels);
}
