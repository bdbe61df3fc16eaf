import { describe, expect, it } from 'vitest';
import type { IncidentRecord } from '../../../lambdas/core/incident/lifecycle.ts';
import {
  buildProberReport,
  openingNotice,
  resolutionNotice,
  withResolution,
} from '../../../lambdas/core/incident/resolution.ts';
import { renderHtml, renderMarkdown } from '../../../lambdas/core/report/index.ts';
import { SHOP_REPORT } from '../../support/incidents.ts';
import { loadReport } from '../report/fixtures.ts';

const heartbeatIncident: IncidentRecord = {
  key: 'prober:prober@2026-11-24T06:00:05Z',
  subject: { kind: 'prober', name: 'prober' },
  openedAt: '2026-11-24T06:00:05Z',
  alarmIds: ['prober-heartbeat'],
  trigger: {
    kind: 'alarm',
    detail:
      'alarm prober-heartbeat entered ALARM at 2026-11-24T06:00:05.000Z: 2 out of 2 were less than the threshold (1): no datapoints, 2 missing datapoints treated as breaching',
  },
  window: { from: '2026-11-24T06:00:00Z', to: '2026-11-24T06:00:05Z' },
  diagnosis: 'pending',
};

describe('incident resolution', () => {
  it('adds resolvedAt, the duration in whole seconds and a timeline entry to a written report', () => {
    const report = loadReport('upstream-down'); // opened 05:52:41
    const resolved = withResolution(
      report,
      '2026-11-24T05:55:02Z',
      'alarm shop-probe-failed no longer in ALARM',
    );
    expect(resolved.resolvedAt).toBe('2026-11-24T05:55:02Z');
    expect(resolved.durationSeconds).toBe(141);
    expect(resolved.timeline.at(-1)).toEqual({
      at: '2026-11-24T05:55:02Z',
      event: 'incident resolved after 2 min 21 s (alarm shop-probe-failed no longer in ALARM)',
    });
    expect(resolved.verdict).toEqual(report.verdict);
    expect(renderMarkdown(resolved)).toContain('resolved at 2026-11-24T05:55:02Z after 2 min 21 s');
  });

  it('gives the same report when the resolution is applied twice (a resumed resolution)', () => {
    const report = loadReport('upstream-down');
    const once = withResolution(report, '2026-11-24T05:55:02Z', 'alarms OK');
    expect(withResolution(once, '2026-11-24T05:55:02Z', 'alarms OK')).toEqual(once);
  });

  it('writes a heartbeat report that the shared renderers accept and that says the prober stopped', () => {
    const report = buildProberReport(
      heartbeatIncident,
      'prober-20261124T060005Z-ab12',
      '2026-11-24T06:00:06Z',
    );
    expect(report.target).toBe('prober');
    expect(report.verdict.rootCause).toBe('unknown');
    expect(report.verdict.summary).toContain('prober stopped reporting');
    expect(report.findings[0]!.evidence[0]!.excerpt).toBe(heartbeatIncident.trigger.detail);
    expect(renderHtml(report)).toContain('prober stopped reporting');
    expect(renderMarkdown(report)).toContain('No heartbeat from the prober');
  });

  it('keeps notice subjects on one line and under 100 characters', () => {
    const long: IncidentRecord = {
      ...heartbeatIncident,
      subject: { kind: 'target', name: `shop-${'x'.repeat(58)}` },
      resolvedAt: '2026-11-24T07:00:05Z',
      durationSeconds: 3600,
      diagnosis: 'done',
      report: {
        incidentId: 'shop-20261124T060005Z-ab12',
        location: '/srv/incidents/shop-20261124T060005Z-ab12/report.json',
        rootCause: 'upstream-connect-timeout',
        upstream: '10.0.0.1:8080',
        confidence: 0.9,
        summary: 'x',
      },
    };
    for (const notice of [
      resolutionNotice(long),
      openingNotice({ ...long, diagnosis: 'failed', diagnosisError: 'boom\nsecond line' }),
    ]) {
      expect(notice.subject.length).toBeLessThan(100);
      expect(notice.subject).not.toMatch(/[\r\n]/);
    }
  });

  it('says in the resolution notice how long it lasted, what it was and where the report is', () => {
    const notice = resolutionNotice({
      ...heartbeatIncident,
      subject: { kind: 'target', name: 'shop' },
      alarmIds: ['shop-probe-failed'],
      resolvedAt: '2026-11-24T06:00:17Z',
      durationSeconds: 12,
      diagnosis: 'done',
      report: { ...SHOP_REPORT },
    });
    expect(notice.subject).toBe('[gatewatch] shop: resolved after 12 s (upstream-down)');
    expect(notice.text).toContain('Report:   /srv/incidents/shop-20261124T060005Z-ab12/report.json');
    expect(notice.text).toContain('Verdict:  upstream-down (127.0.0.1:3000)');
  });
});
