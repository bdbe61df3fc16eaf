/** Lambda of the AwaitApproval Task (invoked with `.waitForTaskToken`): e-mails the request, keeps the token. */
import { taskHandler } from './task-handler.ts';
import { notifierFromEnvironment } from './wiring/notifier.ts';
import { approvalPortsFromEnvironment } from './wiring/remediation.ts';

export const handler = taskHandler('AwaitApproval', {
  notifier: notifierFromEnvironment,
  approvals: approvalPortsFromEnvironment,
});
