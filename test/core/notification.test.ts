import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  incidentMessage,
  incidentSubject,
  messageHtml,
  messageSubject,
  messageText,
  sanitizeSubject,
} from '../../lambdas/core/notification.ts';
import { loadReport } from './report/fixtures.ts';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe('sanitizeSubject', () => {
  it('turns line breaks and control characters from a log line into single spaces', () => {
    expect(sanitizeSubject('[gatewatch] shop:\r\nupstream-down\t127.0.0.1:3000\u0007\u2028')).toBe(
      '[gatewatch] shop: upstream-down 127.0.0.1:3000',
    );
  });

  it('cuts a long subject below 100 characters and marks the cut', () => {
    const subject = sanitizeSubject(`[gatewatch] ${'very-long-target-name-'.repeat(10)}: upstream-timeout`);
    expect(subject.length).toBeLessThan(100);
    expect(subject.endsWith('...')).toBe(true);
  });

  it('never splits a surrogate pair when cutting', () => {
    const subject = sanitizeSubject('🚦'.repeat(80));
    expect(subject).toBe(`${'🚦'.repeat(48)}...`);
  });

  it('falls back to a fixed subject when nothing printable is left', () => {
    expect(sanitizeSubject('\n\r\t ')).toBe('gatewatch notification');
  });

  it('always yields a non-empty subject under 100 UTF-16 units without control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (raw) => {
        const subject = sanitizeSubject(raw);
        return (
          subject.length > 0 && subject.length < 100 && !CONTROL.test(subject) && subject === subject.trim()
        );
      }),
    );
  });
});

describe('sanitizeSubject, more cases', () => {
  it.each([
    ['line\r\nbreak', 'line break'],
    ['tab\tand\u0000nul', 'tab and nul'],
    ['  spaced   out  ', 'spaced out'],
    ['\u2028', 'gatewatch notification'],
  ])('cleans %j to %j', (input, output) => {
    expect(sanitizeSubject(input)).toBe(output);
  });

  it('keeps subjects under 100 characters without splitting a character', () => {
    const long = sanitizeSubject(`${'é'.repeat(97)}😀😀😀`);
    expect(Array.from(long).length).toBeLessThan(100);
    expect(long.endsWith('...')).toBe(true);
    expect(long).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe('incidentSubject', () => {
  it('says target, verdict and upstream on one safe line', () => {
    expect(incidentSubject('shop', 'upstream-down', '127.0.0.1:3000')).toBe(
      '[gatewatch] shop: upstream-down 127.0.0.1:3000',
    );
    expect(incidentSubject('shop', 'healthy', undefined)).toBe('[gatewatch] shop: healthy');
  });
});

describe('the remediation outcome in a message', () => {
  const report = loadReport('upstream-down');
  const suggested = {
    status: 'suggested',
    reason: 'upstream-down maps to restart-service; mode suggest runs nothing',
    escalated: false,
    command: 'systemctl restart shop-api.service',
    approveCommand: `gatewatch approve ${report.incidentId} --action restart-service`,
  };

  it('carries the exact action and the approve command in the text and the HTML parts', () => {
    const message = incidentMessage(report, 'open', { host: 'web-1', remediation: suggested });
    const text = messageText(message);
    expect(text).toContain('Remediation: suggested');
    expect(text).toContain('Action: systemctl restart shop-api.service');
    expect(text).toContain(`Approve it: gatewatch approve ${report.incidentId} --action restart-service`);
    const html = messageHtml(message);
    expect(html).toContain('systemctl restart shop-api.service');
    expect(html).toContain(`gatewatch approve ${report.incidentId}`);
    expect(messageSubject(message)).not.toContain('remediation failed');
  });

  it('marks an escalation in the subject and the body, and escapes what the HTML shows', () => {
    const message = incidentMessage(report, 'open', {
      host: 'web-1',
      remediation: {
        status: 'remediation-failed',
        reason: 'not recovered after 60 s <script>alert(1)</script>',
        escalated: true,
        command: 'systemctl restart shop-api.service',
      },
    });
    expect(messageSubject(message)).toMatch(/^\[remediation failed\] \[gatewatch\]/);
    expect(messageText(message)).toContain('ESCALATION: the incident is not repaired');
    expect(messageHtml(message)).not.toContain('<script>alert(1)</script>');
    expect(messageText(message)).not.toContain('Approve it');
  });

  it('leaves the resolution without it', () => {
    const message = incidentMessage(report, 'resolve', { host: 'web-1', remediation: suggested });
    expect(messageText(message)).not.toContain('Remediation:');
  });
});
