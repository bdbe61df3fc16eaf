/** Lambda of the Remediate Task: guardrails, the action through SSM (or Auto Scaling), verify-after, audit. */
import { taskHandler } from './task-handler.ts';
import { logSourceFromEnvironment } from './wiring/log-source.ts';
import { remediationPortsFromEnvironment } from './wiring/remediation.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('Remediate', {
  store: reportStoreFromEnvironment,
  logs: logSourceFromEnvironment,
  remediation: remediationPortsFromEnvironment,
});
