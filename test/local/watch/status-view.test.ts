import { describe, expect, it } from 'vitest';
import type { IncidentRecord } from '../../../lambdas/core/incident/lifecycle.ts';
import {
  formatEvent,
  LiveView,
  renderScreen,
  renderStatus,
  type WatchStatus,
} from '../../../lambdas/local/watch/status-view.ts';
import { openShopIncident } from '../../support/incidents.ts';

const NOW = Date.parse('2026-11-24T06:01:05Z');

const open: IncidentRecord = openShopIncident();

const status: WatchStatus = {
  startedAt: '2026-11-24T05:59:00.000Z',
  intervalSeconds: 1,
  cooldownSeconds: 5,
  statePath: '/srv/incidents/.gatewatch-state.json',
  targets: [
    {
      name: 'shop',
      url: 'http://127.0.0.1:8080/health',
      last: { ok: false, status: 502, failure: 'assertion', latencyMs: 3.4, at: '2026-11-24T06:01:04.010Z' },
      alarms: [
        { id: 'shop-probe-failed', state: 'ALARM', since: '2026-11-24T06:00:05.000Z' },
        { id: 'shop-error-rate', state: 'INSUFFICIENT_DATA', since: '2026-11-24T05:59:00.000Z' },
      ],
      lastMinute: {
        minuteMs: Date.parse('2026-11-24T06:00:00Z'),
        requests: 60,
        status5xx: 58,
        status502: 58,
        status504: 0,
      },
    },
    {
      name: 'api',
      url: 'http://127.0.0.1:8081/health',
      last: { ok: true, status: 200, latencyMs: 1.2, at: '2026-11-24T06:01:04.010Z' },
      alarms: [{ id: 'api-probe-failed', state: 'OK', since: '2026-11-24T05:59:02.000Z' }],
    },
  ],
  active: [open],
  recent: [],
};

describe('the watch status view', () => {
  it('shows each target with its last probe, latency and alarms, and the open incidents with their report', () => {
    const text = renderStatus(status, NOW).join('\n');
    expect(text).toMatch(
      /shop\s+FAIL 502 assertion\s+3 ms\s+06:01:04\s+58\/60\s+ALARM probe-failed, \? error-rate/,
    );
    expect(text).toMatch(/api\s+ok 200\s+1 ms/);
    expect(text).toContain('open incidents (1):');
    expect(text).toContain(
      'shop-20261124T060005Z-ab12  upstream-down (127.0.0.1:3000)  open 1 min  /srv/incidents/shop-20261124T060005Z-ab12/report.json',
    );
  });

  it('draws on the alternate screen in place: cursor home, lines erased to their end, the rest erased', () => {
    const written: string[] = [];
    const live = new LiveView({
      mode: 'tty',
      write: (t) => written.push(t),
      columns: () => 200,
      rows: () => 30,
    });
    live.render(status, NOW);
    expect(written[0]!.startsWith('\x1b[?1049h\x1b[?25l\x1b[H')).toBe(true);
    expect(written[0]).toContain('\x1b[J\x1b[30;1H');
    live.event({ type: 'warning', at: '2026-11-24T06:01:05Z', message: 'something' });
    expect(written[1]!.startsWith('\x1b[H')).toBe(true);
    expect(written[1]).toContain('recent events:');
    expect(written[1]).toContain('2026-11-24T06:01:05Z warning: something');
    written.length = 0;
    live.render(status, NOW);
    expect(written).toEqual([]); // the same frame is not written twice
    live.close();
    expect(written[0]!.startsWith('\x1b[?1049l\x1b[?25h')).toBe(true);
    expect(written[0]).toContain('gatewatch watch: 2 targets');
    live.close();
    expect(written).toHaveLength(1);
  });

  it('fits 50 targets into a 24x80 terminal: failing targets first, the rest counted', () => {
    const many: WatchStatus = {
      ...status,
      targets: Array.from({ length: 50 }, (_, i) =>
        i === 37 ? { ...status.targets[0]!, name: 'shop-37' } : { ...status.targets[1]!, name: `app-${i}` },
      ),
    };
    const events = Array.from(
      { length: 20 },
      (_, i) => `2026-11-24T06:01:0${i % 10}Z warning: ${'x'.repeat(200)}`,
    );
    const lines = renderScreen(many, NOW, { rows: 24, columns: 80 }, events);
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(79);
    expect(lines[2]).toMatch(/^shop-37\s+FAIL 502/);
    expect(lines.join('\n')).toMatch(/\+\d+ more: \d+ healthy/);
    const shownTargets = lines.filter((l) => /^(app|shop)-\d+ /.test(l)).length;
    const more = Number(/\+(\d+) more/.exec(lines.join('\n'))![1]);
    expect(shownTargets + more).toBe(50);
    expect(lines).toContain('open incidents (1):');
    expect(lines.join('\n')).toContain('recent events:');
  });

  it('keeps a tiny terminal within its rows', () => {
    for (const rows of [1, 2, 3, 5, 8]) {
      const lines = renderScreen(status, NOW, { rows, columns: 30 }, ['e1', 'e2']);
      expect(lines.length).toBeLessThanOrEqual(Math.max(1, rows - 1));
    }
  });

  it('shows control characters from logs as \\xHH, never as terminal commands', () => {
    const line = formatEvent({
      type: 'warning',
      at: '2026-11-24T06:01:05Z',
      message: 'bad \x1b[2J host\nsecond line',
    });
    expect(line).toBe('2026-11-24T06:01:05Z warning: bad \\x1b[2J host\\x0asecond line');
  });

  it('writes plain lines and no escape codes when not on a terminal', () => {
    const written: string[] = [];
    const live = new LiveView({ mode: 'log', write: (t) => written.push(t) });
    live.render(status, NOW);
    live.event({ type: 'incident-diagnosed', at: '2026-11-24T06:00:05Z', incident: open });
    expect(written).toEqual([
      '2026-11-24T06:00:05Z shop: upstream-down (127.0.0.1:3000), confidence 0.95: Nothing listens on 127.0.0.1:3000.  report: /srv/incidents/shop-20261124T060005Z-ab12/report.json\n',
    ]);
  });

  it('leaves start-up transitions out of the log and keeps every change into or out of ALARM', () => {
    const transition = { alarmId: 'shop-probe-failed', at: '2026-11-24T06:00:05.000Z', reason: 'r' };
    const subject = { kind: 'target' as const, name: 'shop' };
    expect(
      formatEvent({
        type: 'alarm',
        at: 'x',
        subject,
        transition: { ...transition, from: 'INSUFFICIENT_DATA', to: 'OK' },
      }),
    ).toBeUndefined();
    expect(
      formatEvent({
        type: 'alarm',
        at: 'x',
        subject,
        transition: { ...transition, from: 'OK', to: 'ALARM' },
      }),
    ).toBe('x shop: alarm shop-probe-failed OK -> ALARM: r');
  });
});
