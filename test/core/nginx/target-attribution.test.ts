import { describe, expect, it } from 'vitest';
import { TargetAttribution, targetIdentity } from '../../../lambdas/core/nginx/target-attribution.ts';

const shop = targetIdentity({
  name: 'shop',
  probe: { url: 'http://127.0.0.1:8080/health' },
  nginx: {},
  upstreams: [{ address: '127.0.0.1:3000' }],
});
const api = targetIdentity({
  name: 'api',
  probe: { url: 'http://127.0.0.1:8081/health', headers: { Host: 'API.example.com:8081' } },
  nginx: {},
  upstreams: [{ address: 'unix:/run/api.sock' }],
});
const www = targetIdentity({
  name: 'www',
  nginx: { serverNames: ['*.example.org', 'example.org'] },
  upstreams: [{ address: '127.0.0.1:3000' }],
});
const rule = new TargetAttribution([shop, api, www]);

describe('which target a line of a shared access log counts for', () => {
  it.each([
    ['its upstream and its probe host', '127.0.0.1', ['127.0.0.1:3000'], ['shop']],
    ['the probe host alone (an upstream no target names)', '127.0.0.1', ['127.0.0.1:4000'], ['shop']],
    ['the Host header of the probe, without its port', 'api.example.com', [], ['api']],
    ['a unix-socket upstream', 'x', ['unix:/run/api.sock'], ['api']],
    ['any attempt of a retried request', '-', ['10.0.0.1:1', 'unix:/run/api.sock'], ['api']],
    ['a wildcard server name', 'img.example.org', ['127.0.0.1:3000'], ['www']],
    ['an exact server name, case and trailing dot aside', 'Example.ORG.', [], ['www']],
    ['the best score; a tie shares the line', 'other', ['127.0.0.1:3000'], ['shop', 'www']],
    ['nobody when nothing matches', 'evil.example', ['10.9.9.9:80'], []],
    ['nobody for a combined line (no host, no upstream)', undefined, [], []],
  ] as const)('attributes by %s', (_what, host, peers, expected) => {
    expect(rule.targetsOf(host, peers)).toEqual(expected);
  });

  it('gives every line to the only target of a log that is not shared', () => {
    const alone = new TargetAttribution([shop]);
    expect(alone.shared).toBe(false);
    expect(alone.targetsOf(undefined, [])).toEqual(['shop']);
  });

  it('reads the identity from the configuration: server names win over the probe host', () => {
    expect(shop).toEqual({ name: 'shop', hosts: ['127.0.0.1'], upstreams: ['127.0.0.1:3000'] });
    expect(api.hosts).toEqual(['api.example.com']);
    expect(www.hosts).toEqual(['*.example.org', 'example.org']);
  });
});
