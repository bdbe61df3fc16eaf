/**
 * The `probe:` block of a target in `gatewatch.yaml`. Every message says what to write instead, because
 * `validate` prints them next to the path (`targets[0].probe.url: must be an http(s) URL, …`).
 */
import { z } from 'zod';

/** Methods a probe may send; anything else is more likely a typo than a health check. */
export const PROBE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

// RFC 9110 token: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// host:port where host is a name, an IPv4 address or a bracketed IPv6 address.
const TCP_TARGET = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(\d{1,5})$/;

function isHttpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

function isRegex(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}

const regexString = (example: string) =>
  z.string().min(1).refine(isRegex, `must be a valid JavaScript regular expression, e.g. ${example}`);

export const ProbeHeaderAssertionSchema = z
  .strictObject({
    name: z.string().regex(HEADER_NAME, 'must be a header name, e.g. content-type'),
    value: z.string().optional(),
    pattern: regexString('^application/json').optional(),
  })
  .refine(
    (header) => (header.value === undefined) !== (header.pattern === undefined),
    'give exactly one of value or pattern, e.g. { name: content-type, pattern: ^application/json }',
  );

export const ProbeExpectSchema = z.strictObject({
  status: z
    .preprocess(
      (value) => (typeof value === 'number' ? [value] : value),
      z
        .array(
          z
            .number('must be an HTTP status code like 200')
            .int('must be a whole HTTP status code like 200')
            .min(100, 'must be an HTTP status code between 100 and 599')
            .max(599, 'must be an HTTP status code between 100 and 599'),
          'must be a status code or a list of them, e.g. [200, 204]',
        )
        .min(1, 'list at least one accepted status, e.g. [200]'),
    )
    .default([200]),
  maxLatencyMs: z
    .number()
    .int('must be whole milliseconds, e.g. 2000')
    .positive('must be above 0, e.g. 2000')
    .optional(),
  bodyContains: z.string().min(1, 'must not be empty; remove it to skip the body check').optional(),
  bodyMatches: regexString('"status":\\s*"ok"').optional(),
  header: ProbeHeaderAssertionSchema.optional(),
  certValidDays: z
    .number()
    .int('must be whole days, e.g. 14')
    .min(0, 'must be 0 or more days, e.g. 14')
    .max(3650, 'must be at most 3650 days')
    .optional(),
});

export const ProbeConfigSchema = z
  .strictObject({
    url: z.string().refine(isHttpUrl, 'must be an http(s) URL, e.g. http://127.0.0.1:8080/health').optional(),
    method: z.enum(PROBE_METHODS, `must be one of ${PROBE_METHODS.join(', ')}`).default('GET'),
    headers: z
      .record(z.string(), z.string().regex(/^[^\r\n\0]*$/, 'header values must be one line'))
      .superRefine((headers, ctx) => {
        // Checked here rather than as the record's key schema so the message names the header.
        for (const name of Object.keys(headers)) {
          if (!HEADER_NAME.test(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: 'header names are tokens like x-request-id (no spaces or colons)',
            });
          }
        }
      })
      .optional(),
    body: z.string().optional(),
    intervalSeconds: z
      .number()
      .int('must be whole seconds, e.g. 60')
      .min(1, 'must be at least 1 second (AWS runs probes every 60 s)')
      .max(86_400, 'must be at most 86400 seconds (one day)')
      .default(60),
    timeoutMs: z
      .number()
      .int('must be whole milliseconds, e.g. 5000')
      .min(50, 'must be at least 50 ms, e.g. 5000')
      .max(120_000, 'must be at most 120000 ms')
      .default(5000),
    expect: ProbeExpectSchema.default({ status: [200] }),
    followRedirects: z.boolean('must be true or false').default(false),
    tcp: z
      .string()
      .refine((value) => {
        const match = TCP_TARGET.exec(value);
        return match !== null && Number(match[1]) >= 1 && Number(match[1]) <= 65535;
      }, 'must be host:port, e.g. 127.0.0.1:5432 or [::1]:6379')
      .optional(),
    /** Extra attempts inside one run for network failures (refused, reset, timeout), not for a bad answer. */
    retries: z
      .number()
      .int('must be a whole number, e.g. 1')
      .min(0, 'must be 0 (no retry) or more')
      .max(3, 'must be at most 3; more would hide a real outage')
      .default(1),
    /** Allow private ranges and loopback (refused by default in AWS). */
    allowPrivate: z.boolean('must be true or false').optional(),
    /** Allow link-local and cloud metadata addresses such as 169.254.169.254 (refused by default). */
    allowLinkLocal: z.boolean('must be true or false').optional(),
  })
  .superRefine((probe, ctx) => {
    if (probe.url === undefined && probe.tcp === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'set url (an HTTP check, e.g. http://127.0.0.1:8080/health) or tcp (a connect check, e.g. 127.0.0.1:5432)',
      });
    }
    if (probe.url !== undefined && probe.tcp !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tcp'],
        message: 'set either url or tcp, not both; use two targets to check both',
      });
    }
    if (probe.expect.certValidDays !== undefined && !probe.url?.toLowerCase().startsWith('https:')) {
      ctx.addIssue({
        code: 'custom',
        path: ['expect', 'certValidDays'],
        message: 'needs an https:// url; remove it for plain HTTP or TCP checks',
      });
    }
  });

/** A validated probe, defaults applied. */
export type ProbeConfig = z.output<typeof ProbeConfigSchema>;
/** A probe as written in the configuration file. */
export type ProbeConfigInput = z.input<typeof ProbeConfigSchema>;
export type ProbeExpect = z.output<typeof ProbeExpectSchema>;
