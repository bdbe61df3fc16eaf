import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cleanText,
  escapeAttribute,
  escapeHtml,
  escapeMarkdownCell,
  escapeMarkdownInline,
  html,
  markdownCodeBlock,
  markdownCodeSpan,
  trustedHtml,
} from '../../../lambdas/core/report/escape.ts';
import { HOSTILE_STRINGS } from './fixtures.ts';
import { decodeEntities } from './html-check.ts';
import { readInline, splitFences, tableCells } from './markdown-check.ts';

/** Any text, weighted towards the characters that matter to HTML and Markdown. */
const anyText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom(...HOSTILE_STRINGS),
      fc.constantFrom(
        '<',
        '>',
        '"',
        "'",
        '&',
        '&amp;',
        '&#x3c;',
        '`',
        '``',
        '```',
        '|',
        '\\',
        '\n',
        '\r',
        '\u0000',
        '\u2028',
        '\ud800',
        '\u202e',
      ),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

// Only entities may carry these characters; nothing else may appear at all.
const ESCAPED_HTML = /^(?:[^<>"'&\u0000-\u0008\u000b-\u001f\u007f-\u009f]|&(?:amp|lt|gt|quot|#39);)*$/;

describe('escapeHtml', () => {
  it('turns the five HTML-significant characters into entities', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
  });

  it('shows NUL and other control characters as visible symbols instead of passing them on', () => {
    expect(escapeHtml('a\u0000b\u0007c\u001bd\u007fe\u0085f')).toBe('a␀b␇c␛d␡e\nf');
    expect(escapeHtml('tab\tand\nnewline')).toBe('tab\tand\nnewline');
  });

  it('turns Unicode line and paragraph separators and CR into plain newlines', () => {
    expect(escapeHtml('a\u2028b\u2029c\r\nd\re')).toBe('a\nb\nc\nd\ne');
  });

  it('makes bidi overrides visible so they cannot reorder the text a reader sees', () => {
    expect(escapeHtml('\u202Etxt.exe')).toBe('⟦U+202E⟧txt.exe');
  });

  it('replaces an unpaired surrogate and keeps a paired one', () => {
    expect(escapeHtml('x\ud800y')).toBe('x\uFFFDy');
    expect(escapeHtml('🙂')).toBe('🙂');
  });

  it('never outputs < > " \' or & except as entities, nor a control character, for any input', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(escapeHtml(text)).toMatch(ESCAPED_HTML);
      }),
      { numRuns: 500 },
    );
  });

  it('loses nothing but control characters: decoding the output gives the cleaned input', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(decodeEntities(escapeHtml(text))).toBe(cleanText(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('escapeAttribute', () => {
  it('also encodes tab, newline and backtick, so a value stays on one line', () => {
    expect(escapeAttribute('a\tb\nc`d"')).toBe('a&#9;b&#10;c&#96;d&quot;');
  });

  it('cannot end a quoted attribute for any input', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(escapeAttribute(text)).not.toMatch(/["'<>`\n]/);
      }),
    );
  });
});

describe('cleanText', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(cleanText(cleanText(text))).toBe(cleanText(text));
      }),
    );
  });
});

describe('html template', () => {
  it('escapes interpolated strings and keeps SafeHtml fragments', () => {
    const value = '<b onclick="x">';
    expect(html`<p title="${value}">${value}${html`<br>`}</p>`.html).toBe(
      '<p title="&lt;b onclick=&quot;x&quot;&gt;">&lt;b onclick=&quot;x&quot;&gt;<br></p>',
    );
  });

  it('joins arrays and renders nothing for false, null and undefined', () => {
    expect(html`${['<', html`<i>`]}${false}${null}${undefined}${0}`.html).toBe('&lt;<i>0');
  });

  it('keeps trusted markup verbatim', () => {
    expect(html`${trustedHtml('<svg></svg>')}`.html).toBe('<svg></svg>');
  });
});

describe('Markdown escaping', () => {
  it('escapes inline markup so report text cannot link, format or inject HTML', () => {
    expect(escapeMarkdownInline('[x](javascript:alert(1)) <b>*y*</b> `z` a|b ~~s~~ &amp;')).toBe(
      '\\[x\\](javascript:alert(1)) \\<b>\\*y\\*\\</b> \\`z\\` a\\|b \\~\\~s\\~\\~ \\&amp;',
    );
  });

  it('escapes a leading block marker but not an IP address', () => {
    expect(escapeMarkdownInline('# h')).toBe('\\# h');
    expect(escapeMarkdownInline('- item')).toBe('\\- item');
    expect(escapeMarkdownInline('> quote')).toBe('\\> quote');
    expect(escapeMarkdownInline('1. first')).toBe('1\\. first');
    expect(escapeMarkdownInline('127.0.0.1:3000 is down')).toBe('127.0.0.1:3000 is down');
  });

  it('puts multi-line text on one line', () => {
    expect(escapeMarkdownInline('  a\n\n  b\u2028c  ')).toBe('a b c');
  });

  it('keeps a table cell one cell whatever it contains', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const row = `| ${escapeMarkdownCell(text) || ' '} | end |`;
        expect(row).not.toMatch(/\n/);
        expect(tableCells(row)).toHaveLength(2);
        expect(tableCells(row)[1]).toBe('end');
      }),
      { numRuns: 500 },
    );
  });

  it('chooses a code-span fence longer than any backtick run, so the span holds the text verbatim', () => {
    expect(markdownCodeSpan('a ``` b')).toBe('````a ``` b````');
    expect(markdownCodeSpan('`x`')).toBe('`` `x` ``');
    fc.assert(
      fc.property(anyText, (text) => {
        const expected = cleanText(text).replace(/\n/g, ' ');
        fc.pre(expected.trim() !== '');
        const { spans, text: rest } = readInline(markdownCodeSpan(text));
        expect(rest).toBe('\u0001');
        expect(spans).toEqual([expected]);
      }),
      { numRuns: 500 },
    );
  });

  it('chooses a fence longer than any backtick run, so evidence cannot close its code block', () => {
    const evidence = `before\n${'`'.repeat(10)}\n</pre><script>alert(1)</script>\n\`\`\`\nafter`;
    const block = markdownCodeBlock(evidence);
    expect(block.startsWith(`${'`'.repeat(11)}text\n`)).toBe(true);
    expect(splitFences(`${block}\n\n<script>outside</script>`)).toEqual({
      blocks: [{ info: 'text', content: evidence, line: 0 }],
      outside: ['', '<script>outside</script>'],
    });
  });

  it('round-trips any text through a fenced block', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const { blocks, outside } = splitFences(`intro\n\n${markdownCodeBlock(text)}\n\nafter`);
        expect(blocks.map((block) => block.content)).toEqual([cleanText(text).replace(/\n+$/, '')]);
        expect(outside).toEqual(['intro', '', '', 'after']);
      }),
      { numRuns: 500 },
    );
  });
});
