import { describe, expect, it } from 'vitest';
import { evaluateReachability } from '../../../lambdas/core/network/reachability.ts';
import { renderReachabilityText } from '../../../lambdas/core/network/render.ts';
import { ID, loadSnapshotFixture } from './fixtures.ts';

describe('renderReachabilityText', () => {
  it('explains a blocked path: the ends, each step, then each block with its fix', () => {
    const result = evaluateReachability(loadSnapshotFixture('multiple-blocks'), {
      from: ID.nginx,
      to: { ip: '10.0.2.20', port: 3000 },
    });
    const lines = renderReachabilityText(result).split('\n');
    expect(lines[0]).toBe(
      `tcp from 10.0.1.10 (${ID.nginx} "nginx", ${ID.nginxEni}, ${ID.webSubnet}) to 10.0.2.20:3000 (${ID.app} "app", ${ID.appEni}, ${ID.appSubnet})`,
    );
    expect(lines[1]).toBe('verdict: BLOCKED by 2 components');
    expect(lines.filter((l) => l.startsWith('  DENY '))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('  ok   '))).toHaveLength(6);
    const blocked = lines.slice(lines.indexOf('blocked by:') + 1);
    expect(blocked[0]).toMatch(new RegExp(`^  1\\. network-acl ${ID.appAcl} \\(inbound\\): .*rule 90`));
    expect(blocked[1]).toMatch(
      /^ {5}fix: add to acl-\S+ an inbound rule 10 allow tcp 3000 from 10\.0\.1\.0\/24/,
    );
    expect(blocked[2]).toMatch(new RegExp(`^  2\\. security-group ${ID.appSg} \\(inbound\\): `));
    expect(blocked[3]).toContain(`fix: add to ${ID.appSg} an inbound rule tcp 3000 from ${ID.webSg}`);
  });

  it('writes an IPv6 upstream with brackets and lists the notes of an unknown answer', () => {
    const result = evaluateReachability(loadSnapshotFixture('ipv6'), {
      from: ID.nginx,
      to: { ip: '2600:1f18:4a3:6e02::99', port: 3000 },
    });
    const text = renderReachabilityText(result);
    expect(text).toContain('to [2600:1f18:4a3:6e02::99]:3000');
    expect(text).toContain('verdict: UNKNOWN\n');
    expect(text).toContain('notes:\n  - ');
  });
});
