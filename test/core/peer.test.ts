import { describe, expect, it } from 'vitest';
import { parseUpstream, peerHostPort } from '../../lambdas/core/nginx/peer.ts';

describe('upstream peers', () => {
  it.each([
    ['http://127.0.0.1:3000/cart?x=1', 'http', '127.0.0.1:3000'],
    ['https://[::1]:8443/', 'https', '[::1]:8443'],
    ['http://unix:/run/app.sock:/api', 'http', 'unix:/run/app.sock'],
    ['fastcgi://unix:/run/php/php8.2-fpm.sock:', 'fastcgi', 'unix:/run/php/php8.2-fpm.sock'],
    ['uwsgi://10.0.0.5:3031', 'uwsgi', '10.0.0.5:3031'],
    ['http://backend/', 'http', 'backend'],
    ['127.0.0.1:3000', undefined, '127.0.0.1:3000'],
    ['unix:/tmp/s.sock', undefined, 'unix:/tmp/s.sock'],
  ])('reads %s', (value, scheme, peer) => {
    expect(parseUpstream(value)).toEqual(
      scheme === undefined ? { scheme: undefined, peer } : { scheme, peer },
    );
  });

  it('applies the scheme default port to configuration values only when asked', () => {
    expect(parseUpstream('http://app.internal', { defaultPort: true }).peer).toBe('app.internal:80');
    expect(parseUpstream('https://app.internal', { defaultPort: true }).peer).toBe('app.internal:443');
    expect(parseUpstream('http://app.internal').peer).toBe('app.internal');
  });

  it('splits host and port of TCP peers only', () => {
    expect(peerHostPort('127.0.0.1:3000')).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(peerHostPort('[::1]:3000')).toEqual({ host: '[::1]', port: 3000 });
    expect(peerHostPort('unix:/run/a.sock')).toBeUndefined();
    expect(peerHostPort('backend')).toBeUndefined();
    expect(peerHostPort('127.0.0.1:70000')).toBeUndefined();
  });
});
