import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../lambdas/core/nginx/log-lines.ts';
import { stripLogPrefix } from '../../../lambdas/core/nginx/log-prefix.ts';

function split(chunks: Uint8Array[], max: number): { lines: string[]; oversized: number[] } {
  const lines: string[] = [];
  const oversized: number[] = [];
  const splitter = new LineSplitter(
    { line: (l) => lines.push(l), oversized: (_h, n) => oversized.push(n) },
    max,
  );
  for (const c of chunks) splitter.push(c);
  splitter.end();
  return { lines, oversized };
}

describe('LineSplitter', () => {
  it('gives the same lines whatever the chunk boundaries, and reports lines over the cap by length', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z \r]{0,40}$/), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        (lines, cuts) => {
          const text = new TextEncoder().encode(lines.join('\n'));
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < text.length; i++) {
            const n = cuts[i % cuts.length]!;
            chunks.push(text.subarray(at, at + n));
            at += n;
          }
          const whole = split([text], 25);
          expect(split(chunks, 25)).toEqual(whole);
          const expected = lines.filter((l, i) => !(i === lines.length - 1 && l === '') && l.length <= 25);
          expect(whole.lines).toEqual(expected.map((l) => l.replace(/\r$/, '')));
          expect(whole.oversized).toEqual(lines.filter((l) => l.length > 25).map((l) => l.length));
        },
      ),
    );
  });

  it('keeps memory bounded on one 8 MB line split into small chunks', () => {
    const chunk = new Uint8Array(64 * 1024).fill(65);
    const heads: string[] = [];
    const sizes: number[] = [];
    const splitter = new LineSplitter({
      line: () => undefined,
      oversized: (h, n) => {
        heads.push(h);
        sizes.push(n);
      },
    });
    for (let i = 0; i < 128; i++) splitter.push(chunk);
    splitter.push(new TextEncoder().encode('\nnext\n'));
    expect(sizes).toEqual([8 * 1024 * 1024]);
    expect(heads[0]!.length).toBe(1024);
  });
});

describe('stripLogPrefix on any input', () => {
  it('never throws and never grows a line', () => {
    const prefixish = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 100 }).map((s) => `{"log":${s}`),
      fc.string({ maxLength: 60 }).map((s) => `@${s}`),
      fc.string({ maxLength: 60 }).map((s) => `<13>1 ${s}`),
      fc.string({ maxLength: 60 }).map((s) => `2026-12-06T20:08:01${s}`),
    );
    fc.assert(
      fc.property(prefixish, (text) => {
        const stripped = stripLogPrefix(text, () => false);
        expect(stripped.kinds.length).toBeLessThanOrEqual(4);
        if (!text.startsWith('{')) expect(stripped.line.length).toBeLessThanOrEqual(text.length);
      }),
    );
  });
});
