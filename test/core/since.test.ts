import { describe, expect, it } from 'vitest';
import { parseSince, SinceFormatError } from '../../lambdas/core/since.ts';

const now = new Date('2026-11-24T06:00:00Z');

describe('--since', () => {
  it.each([
    ['90s', '2026-11-24T05:58:30.000Z'],
    ['15m', '2026-11-24T05:45:00.000Z'],
    ['2h', '2026-11-24T04:00:00.000Z'],
    ['7d', '2026-11-17T06:00:00.000Z'],
    ['1w', '2026-11-17T06:00:00.000Z'],
    ['2026-11-24T05:30:00Z', '2026-11-24T05:30:00.000Z'],
    ['2026-11-24T07:30:00+02:00', '2026-11-24T05:30:00.000Z'],
  ])('reads %s', (value, expected) => {
    expect(parseSince(value, now).toISOString()).toBe(expected);
  });

  it.each([
    '',
    '15',
    'm15',
    '15 minutes',
    '0m',
    '2026-13-40T00:00:00Z',
    '2027-01-01T00:00:00Z',
    '15m; rm -rf /',
  ])('rejects %j with a message that shows the accepted forms', (value) => {
    expect(() => parseSince(value, now)).toThrow(SinceFormatError);
  });
});
