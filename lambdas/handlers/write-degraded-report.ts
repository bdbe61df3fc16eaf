/** Lambda of the WriteDegradedReport Task: the report of a diagnosis that could not complete. */
import { taskHandler } from './task-handler.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('WriteDegradedReport', { store: reportStoreFromEnvironment });
