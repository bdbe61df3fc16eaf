import { describe, expect, it } from 'vitest';
import { REPORT_CSP } from '../../../lambdas/core/report/render-html.ts';
import { checkReportPage, tokenizeHtml } from './html-check.ts';

// The checker guards every HTML test, so it gets its own tests: each must show it can fail.

const CSP = `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`;

function page(body: string, head = CSP): string {
  return `<!doctype html><html><head><meta charset="utf-8">${head}<title>t</title><style>p{color:red}</style></head><body>${body}</body></html>`;
}

describe('checkReportPage', () => {
  it('accepts a minimal page with escaped text', () => {
    expect(
      checkReportPage(page('<p>&lt;script&gt;alert(1)&lt;/script&gt; onerror=x javascript:y</p>')),
    ).toEqual([]);
  });

  it.each([
    ['a script element', '<p><script>alert(1)</script></p>', /<script>/],
    ['an upper-case script element', '<SCRIPT SRC=//x></SCRIPT>', /<script>/],
    [
      'an event handler from a broken-out attribute',
      '<p title=""><img src=x onerror=alert(1)>">',
      /event handler onerror/,
    ],
    ['an event handler on svg', '<svg onload=alert(1)>', /event handler onload/],
    ['a script URL behind an encoded tab', '<a href="java&#x09;script:alert(1)">x</a>', /script URL in href/],
    ['a link that leaves the page', '<a href="https://example.com/">x</a>', /leaves the page/],
    ['an unexpected element', '<iframe></iframe>', /unexpected element <iframe>/],
    ['a raw < in text', '<p>a < b</p>', /raw "<" in text/],
    ['a bare ampersand', '<p>a & b</p>', /raw "&" in text/],
    ['an unquoted attribute', '<p class=x>y</p>', /unquoted attribute/],
    ['a script after </pre>', '<pre><code></pre><script>alert(1)</script></code></pre>', /<script>/],
    [
      'a script inside an svg title, where title is not raw text',
      '<svg><title><script>alert(1)</script></title></svg>',
      /<script>/,
    ],
  ])('flags %s', (_name, body, problem) => {
    expect(checkReportPage(page(body)).join('\n')).toMatch(problem);
  });

  it('flags a script that ends a <title> early', () => {
    const broken = page('<p>x</p>').replace(
      '<title>t</title>',
      '<title></title><script>alert(1)</script></title>',
    );
    expect(checkReportPage(broken).join('\n')).toMatch(/<script>/);
  });

  it('flags a missing, a second, a late or a script-allowing CSP', () => {
    expect(checkReportPage(page('<p>x</p>', '')).join('\n')).toMatch(/0 Content-Security-Policy/);
    expect(checkReportPage(page('<p>x</p>', CSP + CSP)).join('\n')).toMatch(/2 Content-Security-Policy/);
    expect(checkReportPage(page(CSP)).join('\n')).toMatch(/after content/);
    const lax = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'">`;
    expect(checkReportPage(page('<p>x</p>', lax)).join('\n')).toMatch(/allows scripts through script-src/);
    const open = `<meta http-equiv="Content-Security-Policy" content="default-src *">`;
    expect(checkReportPage(page('<p>x</p>', open)).join('\n')).toMatch(/default-src is not 'none'/);
  });

  it('flags a meta refresh and CSS that loads', () => {
    expect(
      checkReportPage(page('<p>x</p>', `${CSP}<meta http-equiv="refresh" content="0">`)).join('\n'),
    ).toMatch(/http-equiv=refresh/);
    expect(
      checkReportPage(page('<p>x</p>').replace('p{color:red}', 'p{background:url(//x)}')).join('\n'),
    ).toMatch(/style loads/);
  });
});

describe('tokenizeHtml', () => {
  it('reads attributes in all three forms and decodes their references', () => {
    const { tokens, problems } = tokenizeHtml(`<a href="#x" title='a&amp;b' data-x=1 hidden>t</a>`);
    expect(tokens[0]).toMatchObject({
      type: 'start',
      name: 'a',
      attributes: [
        { name: 'href', value: '#x' },
        { name: 'title', value: 'a&b' },
        { name: 'data-x', value: '1' },
        { name: 'hidden', value: '' },
      ],
    });
    expect(problems).toHaveLength(2); // single-quoted and unquoted
  });

  it('treats style content as raw text in HTML and as markup inside svg', () => {
    const html = tokenizeHtml('<style><b></style><svg><style><b></style></svg>').tokens;
    expect(
      html.filter((token) => token.type === 'start').map((token) => (token as { name: string }).name),
    ).toEqual(['style', 'svg', 'style', 'b']);
  });
});
