/** Lambda of the CheckNetworkPath Task. */
import { taskHandler } from './task-handler.ts';
import { networkInventoryFromEnvironment } from './wiring/network-inventory.ts';
import { reportStoreFromEnvironment } from './wiring/report-store.ts';

export const handler = taskHandler('CheckNetworkPath', {
  store: reportStoreFromEnvironment,
  network: networkInventoryFromEnvironment,
});
