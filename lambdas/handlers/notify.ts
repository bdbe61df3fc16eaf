/**
 * Lambda of the Notify Task: the verdict to the SNS topic and the configured Slack/webhook/PagerDuty, each
 * channel's outcome recorded in the report.
 */
import { taskHandler } from './task-handler.ts';
import { notifierFromEnvironment } from './wiring/notifier.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('Notify', {
  notifier: notifierFromEnvironment,
  store: reportStoreFromEnvironment,
});
