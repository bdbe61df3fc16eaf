import { describe, expect, it } from 'vitest';
import type { IncidentRecord } from '../../../lambdas/core/incident/lifecycle.ts';
import { reportPaths, toJsonEvent } from '../../../lambdas/local/watch/json-events.ts';
import { openShopIncident } from '../../support/incidents.ts';

const record: IncidentRecord = {
  ...openShopIncident(),
  resolvedAt: '2026-11-24T06:01:05Z',
  durationSeconds: 60,
};

describe('watch --json events', () => {
  it('maps an incident to its documented fields, with the three report paths', () => {
    expect(toJsonEvent({ type: 'incident-resolved', at: '2026-11-24T06:01:05Z', incident: record })).toEqual({
      v: 1,
      type: 'incident-resolved',
      at: '2026-11-24T06:01:05Z',
      incident: {
        target: 'shop',
        subject: 'target',
        key: 'shop@2026-11-24T06:00:05Z',
        incidentId: 'shop-20261124T060005Z-ab12',
        openedAt: '2026-11-24T06:00:05Z',
        trigger: { kind: 'probe', detail: 'alarm shop-probe-failed entered ALARM' },
        alarmIds: ['shop-probe-failed'],
        window: { from: '2026-11-24T06:00:01Z', to: '2026-11-24T06:00:05Z' },
        verdict: {
          rootCause: 'upstream-down',
          upstream: '127.0.0.1:3000',
          confidence: 0.95,
          summary: 'Nothing listens on 127.0.0.1:3000.',
        },
        diagnosisError: null,
        report: {
          json: '/srv/incidents/shop-20261124T060005Z-ab12/report.json',
          md: '/srv/incidents/shop-20261124T060005Z-ab12/report.md',
          html: '/srv/incidents/shop-20261124T060005Z-ab12/report.html',
        },
        resolvedAt: '2026-11-24T06:01:05Z',
        durationSeconds: 60,
      },
    });
  });

  it('gives every event type v, type and at, and only its documented fields', () => {
    const subject = { kind: 'target' as const, name: 'shop' };
    expect(
      toJsonEvent({ type: 'incident-held', at: 'x', subject, alarmId: 'shop-error-rate', until: 'y' }),
    ).toEqual({
      v: 1,
      type: 'incident-held',
      at: 'x',
      target: 'shop',
      subject: 'target',
      alarmId: 'shop-error-rate',
      until: 'y',
    });
    expect(toJsonEvent({ type: 'warning', at: 'x', message: 'm' })).toEqual({
      v: 1,
      type: 'warning',
      at: 'x',
      message: 'm',
    });
    expect(toJsonEvent({ type: 'stopped', at: 'x', open: 2 })).toEqual({
      v: 1,
      type: 'stopped',
      at: 'x',
      open: 2,
    });
    const { resolvedAt: _r, durationSeconds: _d, report: _p, ...opened } = record;
    const json = toJsonEvent({
      type: 'incident-opened',
      at: 'x',
      incident: { ...opened, diagnosis: 'pending' },
    });
    expect(json.incident).toMatchObject({ verdict: null, report: null, incidentId: null, resolvedAt: null });
  });

  it('keeps a location that is not a report.json as it is', () => {
    expect(reportPaths('s3://bucket/x')).toEqual({
      json: 's3://bucket/x',
      md: 's3://bucket/x',
      html: 's3://bucket/x',
    });
  });
});
