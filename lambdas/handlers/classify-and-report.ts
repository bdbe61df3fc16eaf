/** Lambda of the ClassifyAndReport Task: evidence from the store, report.{json,md,html} into it. */
import { taskHandler } from './task-handler.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('ClassifyAndReport', { store: reportStoreFromEnvironment });
