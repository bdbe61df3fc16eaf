/** Lambda of the CollectDiagnostics Task: one poll of the SSM invocation; host facts into the store. */
import { taskHandler } from './task-handler.ts';
import { dispatcherFromEnvironment } from './wiring/dispatcher.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('CollectDiagnostics', {
  'diagnostics-collect': dispatcherFromEnvironment,
  store: reportStoreFromEnvironment,
});
