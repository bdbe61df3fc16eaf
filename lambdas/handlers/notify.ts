/** Lambda of the Notify Task: the verdict to the SNS topic. */
import { taskHandler } from './task-handler.ts';
import { notifierFromEnvironment } from './wiring/notifier.ts';

export const handler = taskHandler('Notify', { notifier: notifierFromEnvironment });
