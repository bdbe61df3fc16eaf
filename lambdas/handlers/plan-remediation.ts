/** Lambda of the PlanRemediation Task: the mapping table and the mode decide; the report gets the proposal. */
import { taskHandler } from './task-handler.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('PlanRemediation', { store: reportStoreFromEnvironment });
