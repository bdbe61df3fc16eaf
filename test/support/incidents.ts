/**
 * One open incident as `watch` keeps it: a probe-failed alarm of target shop, diagnosed `upstream-down`.
 * A fresh object each call; tests spread it to add resolution or change a field.
 */
import type { IncidentRecord } from '../../lambdas/core/incident/lifecycle.ts';

export const SHOP_REPORT = {
  incidentId: 'shop-20261124T060005Z-ab12',
  location: '/srv/incidents/shop-20261124T060005Z-ab12/report.json',
  rootCause: 'upstream-down',
  upstream: '127.0.0.1:3000',
  confidence: 0.95,
  summary: 'Nothing listens on 127.0.0.1:3000.',
} as const satisfies IncidentRecord['report'];

export function openShopIncident(): IncidentRecord {
  return {
    key: 'shop@2026-11-24T06:00:05Z',
    subject: { kind: 'target', name: 'shop' },
    openedAt: '2026-11-24T06:00:05Z',
    alarmIds: ['shop-probe-failed'],
    trigger: { kind: 'probe', detail: 'alarm shop-probe-failed entered ALARM' },
    window: { from: '2026-11-24T06:00:01Z', to: '2026-11-24T06:00:05Z' },
    diagnosis: 'done',
    report: { ...SHOP_REPORT },
  };
}
