/** Lambda of the SendDiagnostics Task: SSM SendCommand with gatewatch's document on one host. */
import { taskHandler } from './task-handler.ts';
import { dispatcherFromEnvironment } from './wiring/dispatcher.ts';

export const handler = taskHandler('SendDiagnostics', { 'diagnostics-send': dispatcherFromEnvironment });
