import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AddressClass,
  addressPolicyFor,
  checkAddress,
  classifyAddress,
  InvalidAddressError,
  isIpLiteral,
  parseIPv6,
} from '../../../lambdas/core/probe/address-policy.ts';

describe('classifyAddress', () => {
  const table: [string, AddressClass][] = [
    ['93.184.215.14', 'public'],
    ['8.8.8.8', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.10', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['169.254.10.20', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['2606:4700::6810:84e5', 'public'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd00:ec2::254', 'metadata'],
    ['[fd00:ec2::254]', 'metadata'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    // IPv6 forms that carry an IPv4 address are judged by that address.
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    ['2002:0808:0808::1', 'public'],
  ];
  it.each(table)('classifies %s as %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it('throws InvalidAddressError for a host name', () => {
    expect(() => classifyAddress('metadata.google.internal')).toThrow(InvalidAddressError);
  });
});

describe('parseIPv6', () => {
  it.each([
    ['::1', [...new Array(15).fill(0), 1]],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ['1:2:3:4:5:6:1.2.3.4', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]],
    ['::1.2.3.4', [...new Array(12).fill(0), 1, 2, 3, 4]],
  ])('parses %s', (text, bytes) => {
    expect(parseIPv6(text)).toEqual(bytes);
  });

  it.each(['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1.2.3'])(
    'rejects %s',
    (text) => {
      expect(parseIPv6(text)).toBeUndefined();
    },
  );

  it('round-trips any 16 bytes written as eight full groups', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }), (bytes) => {
        const groups = [];
        for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
        expect(parseIPv6(groups.join(':'))).toEqual(bytes);
      }),
    );
  });

  it('either classifies any string or says it is not an IP', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        if (isIpLiteral(text)) expect(typeof classifyAddress(text)).toBe('string');
        else expect(() => classifyAddress(text)).toThrow(InvalidAddressError);
      }),
    );
  });
});

describe('checkAddress', () => {
  it('allows loopback and private ranges locally but refuses link-local and metadata', () => {
    const local = addressPolicyFor('local');
    expect(checkAddress('127.0.0.1', local).allowed).toBe(true);
    expect(checkAddress('10.0.0.5', local).allowed).toBe(true);
    expect(checkAddress('169.254.169.254', local)).toMatchObject({
      allowed: false,
      addressClass: 'metadata',
    });
    expect(checkAddress('fe80::1', local)).toMatchObject({ allowed: false, addressClass: 'link-local' });
  });

  it('refuses private, loopback, link-local and metadata in AWS mode, allows public', () => {
    const aws = addressPolicyFor('aws');
    for (const ip of ['10.0.0.5', '127.0.0.1', '::1', 'fd12::1', '169.254.169.254', 'fd00:ec2::254']) {
      expect(checkAddress(ip, aws).allowed).toBe(false);
    }
    expect(checkAddress('93.184.215.14', aws).allowed).toBe(true);
  });

  it('names the setting that would allow a refused address', () => {
    const aws = addressPolicyFor('aws');
    expect(checkAddress('10.0.0.5', aws)).toMatchObject({
      reason: expect.stringContaining('probe.allowPrivate: true'),
    });
    expect(checkAddress('169.254.169.254', aws)).toMatchObject({
      reason: expect.stringContaining('probe.allowLinkLocal: true'),
    });
  });

  it('allows what the overrides allow', () => {
    const policy = addressPolicyFor('aws', { allowPrivate: true, allowLinkLocal: true });
    expect(checkAddress('10.0.0.5', policy).allowed).toBe(true);
    expect(checkAddress('169.254.169.254', policy).allowed).toBe(true);
  });

  it('never allows unspecified, multicast or reserved addresses, whatever the policy', () => {
    const everything = addressPolicyFor('local', { allowPrivate: true, allowLinkLocal: true });
    for (const ip of ['0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255']) {
      expect(checkAddress(ip, everything).allowed).toBe(false);
    }
  });
});
