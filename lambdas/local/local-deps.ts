import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ConsoleNotifier } from '../adapters/local/console-notifier.ts';
import { EnvSecretResolver } from '../adapters/local/env-secret-resolver.ts';
import { FileLogSource } from '../adapters/local/file-log-source.ts';
import { FolderReportStore } from '../adapters/local/folder-report-store.ts';
import { LocalDiagnosticsDispatcher } from '../adapters/local/local-diagnostics-dispatcher.ts';
import { ProbeHistoryFiles } from '../adapters/local/probe-history-files.ts';
import { ShellCommandRunner } from '../adapters/local/shell-command-runner.ts';
import { SnapshotNetworkInventory } from '../adapters/local/snapshot-network-inventory.ts';
import {
  type LazySmtpChannel,
  notificationChannels,
  smtpChannel,
} from '../adapters/notification-channels.ts';
import type { GatewatchConfig } from '../core/config.ts';
import type { DiagnosticsDispatcher, Notifier } from '../ports.ts';
import type { StepDeps } from '../steps/deps.ts';
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
    probeHistory: new ProbeHistoryFiles(options.out ?? config.reports.dir),
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
  if (mode === 'none')
    return new NotifierChannels([], 'manual diagnose: notifications are sent only with --notify');
  const channels = configuredChannels(config);
  return new NotifierChannels(mode === 'console' ? [new ConsoleNotifier(), ...channels] : channels);
}
