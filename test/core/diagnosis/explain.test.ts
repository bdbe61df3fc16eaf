import { describe, expect, it } from 'vitest';
import { completeQuotedLine, explainQuotedLines } from '../../../lambdas/core/diagnosis/explain.ts';

const FULL =
  '2026/12/07 04:00:01 [error] 1046#1046: *2094 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "shop"';

describe('explaining quoted error-log lines', () => {
  it('leaves a whole line (or one behind a shipper prefix) as it is, and completes what quotes leave out', () => {
    expect(completeQuotedLine(FULL)).toEqual({ line: FULL, completion: 'none' });
    expect(completeQuotedLine(`web-1  | ${FULL}`).completion).toBe('none');
    const noDate = FULL.slice('2026/12/07 04:00:01 '.length);
    expect(completeQuotedLine(noDate)).toEqual({ line: `2000/01/01 00:00:00 ${noDate}`, completion: 'date' });
    const message =
      'connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1';
    expect(completeQuotedLine(`  ${message}\n`)).toEqual({
      line: `2000/01/01 00:00:00 [error] 0#0: ${message}`,
      completion: 'header',
    });
  });

  it('names the cause of a quote without its date as of the whole line', () => {
    const whole = explainQuotedLines([FULL]);
    const quoted = explainQuotedLines([FULL.slice('2026/12/07 04:00:01 '.length)]);
    expect(whole.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: '127.0.0.1:3000' });
    expect(quoted.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: '127.0.0.1:3000' });
    expect(quoted.lines).toEqual({ given: 1, completed: 1, unreadable: 0 });
  });

  it('never calls text with no upstream failure healthy: it is unknown, with low confidence', () => {
    const result = explainQuotedLines(['[notice] 1#1: signal process started', '', 'hello']);
    expect(result.verdict.rootCause).toBe('unknown');
    expect(result.verdict.confidence).toBeLessThan(0.5);
    expect(result.lines.given).toBe(2);
  });

  it('redacts secrets in what it quotes back', () => {
    const result = explainQuotedLines([
      '[error] 7#7: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: shop, request: "GET /pay?token=s3cr3t-value HTTP/1.1", upstream: "http://10.0.0.5:8080/pay?token=s3cr3t-value"',
    ]);
    expect(result.verdict.rootCause).toBe('upstream-timeout');
    expect(JSON.stringify(result)).not.toContain('s3cr3t-value');
  });
});
