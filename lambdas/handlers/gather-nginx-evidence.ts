/** Lambda of the GatherNginxEvidence Task: the window's nginx logs from CloudWatch Logs into the store. */
import { taskHandler } from './task-handler.ts';
import { logSourceFromEnvironment } from './wiring/log-source.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('GatherNginxEvidence', {
  logs: logSourceFromEnvironment,
  store: reportStoreFromEnvironment,
});
