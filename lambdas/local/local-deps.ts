import { join } from 'node:path';
import { ConsoleNotifier, SilentNotifier } from '../adapters/local/console-notifier.ts';
import { FileLogSource } from '../adapters/local/file-log-source.ts';
import { FileRemediationLedger } from '../adapters/local/file-remediation-ledger.ts';
import { APPROVALS_DIR_NAME, FolderApprovalGate } from '../adapters/local/folder-approval-gate.ts';
import { FolderReportStore } from '../adapters/local/folder-report-store.ts';
import { HttpTargetProber } from '../adapters/local/http-target-prober.ts';
import { LocalDiagnosticsDispatcher } from '../adapters/local/local-diagnostics-dispatcher.ts';
import { ProbeHistoryFiles } from '../adapters/local/probe-history-files.ts';
import { ShellCommandRunner } from '../adapters/local/shell-command-runner.ts';
import { ShellRemediationRunner } from '../adapters/local/shell-remediation-runner.ts';
import type { SmtpNotifier } from '../adapters/local/smtp-notifier.ts';
import { SnapshotNetworkInventory } from '../adapters/local/snapshot-network-inventory.ts';
import type { GatewatchConfig } from '../core/config.ts';
import type { DiagnosticsDispatcher, Notifier } from '../ports.ts';
import type { RemediationPorts, StepDeps } from '../steps/deps.ts';

export interface LocalDepsOptions {
  /** Reports folder; the configuration's `reports.dir` by default. */
  out?: string;
  /** `silent` for commands that print the verdict themselves. */
  notify?: 'console' | 'silent';
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
  return {
    config,
    logs: new FileLogSource(),
    dispatcher: options.dispatcher ?? new LocalDiagnosticsDispatcher(new ShellCommandRunner()),
    store: new FolderReportStore(options.out ?? config.reports.dir),
    notifier: localNotifier(config, options.notify ?? 'console'),
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

/**
 * The SMTP notifier the configuration asks for (`notify.smtp` and at least one `notify.email`), if any.
 * Its module (nodemailer, some 200 files) is loaded with the first e-mail, not when the CLI starts: a
 * diagnosis without SMTP never pays for it (issue 9: start-up time).
 */
export function smtpNotifierFor(config: GatewatchConfig): (Notifier & { close(): void }) | undefined {
  const smtp = config.notify.smtp;
  if (!smtp || config.notify.email.length === 0) return undefined;
  const options = {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    from: smtp.from,
    to: config.notify.email,
  };
  let loaded: Promise<SmtpNotifier> | undefined;
  const load = () => {
    loaded ??= import('../adapters/local/smtp-notifier.ts').then((m) => new m.SmtpNotifier(options));
    return loaded;
  };
  return {
    notify: async (notification) => (await load()).notify(notification),
    close: () => {
      void loaded?.then((mail) => mail.close());
    },
  };
}

function localNotifier(config: GatewatchConfig, mode: 'console' | 'silent'): Notifier {
  const console = mode === 'console' ? new ConsoleNotifier() : new SilentNotifier();
  const mail = smtpNotifierFor(config);
  if (!mail) return console;
  return {
    async notify(notification) {
      await console.notify(notification);
      await mail.notify(notification);
    },
  };
}
