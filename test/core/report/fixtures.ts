/**
 * Sample reports for the renderer tests.
 *
 * `test/fixtures/reports/*.json` are real-shaped: their error-log lines, access-log lines and `ss -tlnp`
 * output were produced on the build machine by nginx 1.22.1 (`nginx -p DIR -c FILE`, loopback only)
 * proxying to
 * - a closed port (`upstream-down.json`: `connect() failed (111: Connection refused)`),
 * - a Node server that never answers `/api/orders`, with `proxy_read_timeout 2s` and gatewatch's
 *   recommended `log_format` (`upstream-timeout-resolved.json`: `upstream timed out (110: …) while reading
 *   response header`),
 * - a TCP server that closes the connection as soon as the request arrives
 *   (`upstream-closed-early-day.json`: `upstream prematurely closed connection`; its request line keeps the
 *   `session=` parameter as nginx logged it, to exercise redaction at render time).
 * The 1,440 `perMinute` buckets of the day-long report follow a daily sine curve with a two-hour 502
 * episode; the other numbers are chosen to be consistent with them.
 *
 * `hostileReport` puts an attacker's string into every string field and every record key of a report.
 */
import { readFileSync } from 'node:fs';
import type { Report, TrafficMinute } from '../../../lambdas/core/types.ts';

export const FIXTURE_NAMES = [
  'upstream-down',
  'healthy',
  'upstream-timeout-resolved',
  'upstream-closed-early-day',
] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

/** A fixture report, parsed fresh each time so a test may change it. */
export function loadReport(name: FixtureName): Report {
  const url = new URL(`../../fixtures/reports/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Report;
}

/** Strings that would run script, break out of an element or a Markdown fence, or hide text, if unescaped. */
export const HOSTILE_STRINGS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  'javascript:alert(1)',
  '<svg onload=alert(1)>',
  '</pre><script>alert(1)</script>',
  '</code></pre></figure><script>alert(1)</script>',
  '</title><script>alert(1)</script>',
  '</style><script>alert(1)</script>',
  '</textarea><script>alert(1)</script>',
  '<svg><title><script>alert(1)</script></title></svg>',
  '<!--<script>alert(1)//-->',
  '<a href="javascript:alert(1)">click</a>',
  '<a href="java&#x09;script:alert(1)">click</a>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<![CDATA[<script>alert(1)</script>]]>',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  '[click](javascript:alert(1))',
  '<javascript:alert(1)>',
  'line\u2028separator\u2029paragraph\u0085next',
  'nul\u0000byte\u0007bell\u001b[31mred',
  'lone \ud800 surrogate',
  '\u202Eevil\u202C',
  '`'.repeat(10),
  '```\n</pre><script>alert(1)</script>\n```',
  '~~~\n<script>alert(1)</script>',
  '| a | b |\n|---|---|',
  '# heading\n- item\n> quote',
] as const;

function minute(at: string, requests: number, status5xx: number): TrafficMinute {
  return { minute: at, requests, status5xx, status502: status5xx, status504: 0 };
}

export interface HostileOptions {
  /**
   * Also put the string into fields typed as a closed vocabulary (root cause, severity, check status,
   * trigger kind, log format): a report read back from disk or S3 is data, not a type.
   */
  vocabulary?: boolean;
}

/** A report in which every string field and record key carries `value` (labelled by field). */
export function hostileReport(value: string, options: HostileOptions = {}): Report {
  const s = (field: string) => `${field} ${value}`;
  const vocab = <T extends string>(valid: T): T => (options.vocabulary ? (value as T) : valid);
  return {
    schemaVersion: 1,
    incidentId: s('incident'),
    target: s('target'),
    openedAt: s('openedAt'),
    window: { from: s('from'), to: s('to') },
    trigger: { kind: vocab('alarm'), detail: s('trigger') },
    verdict: {
      rootCause: vocab('upstream-down'),
      upstream: s('upstream'),
      confidence: 0.9,
      summary: s('summary'),
    },
    findings: [
      {
        category: vocab('upstream-down'),
        severity: vocab('critical'),
        title: s('finding'),
        evidence: [
          { source: s('source'), excerpt: s('excerpt'), at: s('at') },
          { source: s('source2'), excerpt: value },
        ],
      },
      { category: vocab('unknown'), severity: vocab('info'), title: s('finding2'), evidence: [] },
    ],
    checks: [
      { name: s('check'), status: vocab('error'), durationMs: 3, detail: s('detail') },
      { name: s('check2'), status: vocab('ok'), durationMs: 1 },
    ],
    traffic: {
      requests: 10,
      status5xx: 4,
      byStatus: { [value]: 6, [s('status')]: 4 },
      byUpstream: {
        [value]: {
          requests: 10,
          failures: 4,
          byStatus: { [value]: 4, [s('upstreamStatus')]: 6 },
          maxResponseTime: 1.5,
        },
      },
      format: vocab('gatewatch'),
      malformed: 0,
      perMinute: [
        minute('2026-11-24T05:00:00Z', 4, 1),
        minute(s('minute'), 2, 2),
        minute('2026-11-24T05:01:00Z', 4, 1),
      ],
      firstAt: s('firstAt'),
      lastAt: s('lastAt'),
      samples: [s('sample'), value],
    },
    timeline: [{ at: s('timelineAt'), event: s('event') }],
    nextSteps: [s('step'), value],
    ruledOut: [s('ruledOut')],
    resolvedAt: s('resolvedAt'),
    durationSeconds: 90,
  };
}
