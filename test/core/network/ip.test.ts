import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  formatIp,
  isLoopback,
  type ParsedCidr,
  parseCidr,
  parseIp,
} from '../../../lambdas/core/network/ip.ts';

const cidr = (text: string): ParsedCidr => parseCidr(text)!;
const ip = (text: string) => parseIp(text)!;

describe('parseIp / formatIp', () => {
  it.each([
    ['10.0.1.10', '10.0.1.10'],
    ['::', '::'],
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2600:1f18:4a3:6e01::10', '2600:1f18:4a3:6e01::10'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('reads %s and writes it canonically as %s', (input, canonical) => {
    expect(formatIp(ip(input))).toBe(canonical);
  });

  it.each([
    '256.0.0.1',
    '1.2.3',
    '01.2.3.4.5',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    'app.internal',
    '',
    'fe80::1%eth0',
  ])('rejects %j', (input) => {
    expect(parseIp(input)).toBeUndefined();
  });

  it('round-trips any IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(formatIp(ip(text))).toBe(text);
      }),
    );
  });

  it('reads any IPv6 spelling to the same value as its canonical form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = ip(text);
        expect(parseIp(formatIp(parsed))).toEqual(parsed);
      }),
    );
  });

  it('answers any text with an address or undefined, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const parsed = parseCidr(text);
        if (parsed) expect(parsed.prefix).toBeLessThanOrEqual(parsed.family === 4 ? 32 : 128);
        parseIp(text);
      }),
    );
  });
});

describe('parseCidr / cidrContains', () => {
  it.each([
    ['10.0.0.0/16', '10.0.255.1', true],
    ['10.0.0.0/16', '10.1.0.1', false],
    ['10.0.1.10/32', '10.0.1.10', true],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::/0', '2001:db8::1', true],
    ['2600:1f18:4a3:6e01::/64', '2600:1f18:4a3:6e01::10', true],
    ['2600:1f18:4a3:6e01::/64', '2600:1f18:4a3:6e02::10', false],
  ])('%s contains %s: %s', (block, address, expected) => {
    expect(cidrContains(cidr(block), ip(address))).toBe(expected);
  });

  it('clears host bits and treats a bare address as a host route', () => {
    expect(cidr('10.0.1.77/24').text).toBe('10.0.1.0/24');
    expect(cidr('10.0.1.77').text).toBe('10.0.1.77/32');
    expect(cidr('2001:db8::5').text).toBe('2001:db8::5/128');
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/x', '10.0.0.0/8/8'])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('knows loopback addresses', () => {
    expect(isLoopback(ip('127.0.0.1'))).toBe(true);
    expect(isLoopback(ip('127.8.9.1'))).toBe(true);
    expect(isLoopback(ip('::1'))).toBe(true);
    expect(isLoopback(ip('10.0.0.1'))).toBe(false);
  });
});
