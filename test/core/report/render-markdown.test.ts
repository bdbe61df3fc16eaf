import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeMarkdownCell,
  escapeMarkdownInline,
  markdownCodeSpan,
} from '../../../lambdas/core/report/escape.ts';
import { renderMarkdown } from '../../../lambdas/core/report/render-markdown.ts';
import { evidenceText, proseSegments } from '../../../lambdas/core/report/view.ts';
import { ROOT_CAUSES } from '../../../lambdas/core/root-causes.ts';
import { FIXTURE_NAMES, HOSTILE_STRINGS, hostileReport, loadReport } from './fixtures.ts';
import { checkMarkdown, splitFences, tableCells } from './markdown-check.ts';

/** The fenced blocks' contents, in order. */
function blocks(markdown: string): string[] {
  return splitFences(markdown).blocks.map((block) => block.content);
}

/** Prose as the renderer writes it: backtick spans as code spans, the rest escaped. */
function prose(value: string): string {
  return proseSegments(value)
    .map((segment) => (segment.code ? markdownCodeSpan(segment.text) : escapeMarkdownInline(segment.text)))
    .join('');
}

describe('renderMarkdown on sample reports', () => {
  it.each(FIXTURE_NAMES)('shows everything in %s', (name) => {
    const report = loadReport(name);
    const markdown = renderMarkdown(report);
    expect(checkMarkdown(markdown)).toEqual([]);
    const lines = markdown.split('\n');
    expect(lines[0]).toBe(
      `# ${report.target}: ${report.verdict.rootCause}` +
        (report.verdict.rootCause === 'healthy'
          ? ''
          : report.resolvedAt
            ? ' (resolved, was critical)'
            : ' (critical, open)'),
    );
    expect(lines[2]).toBe(`> **${prose(report.verdict.summary)}**`);
    expect(markdown).toContain(
      `\`${report.verdict.rootCause}\` — ${escapeMarkdownInline(ROOT_CAUSES[report.verdict.rootCause])}`,
    );
    if (report.verdict.upstream !== undefined)
      expect(markdown).toContain(`**Upstream:** \`${report.verdict.upstream}\``);
    const quoted = blocks(markdown);
    for (const finding of report.findings) {
      expect(markdown).toContain(escapeMarkdownInline(finding.title));
      for (const evidence of finding.evidence) expect(quoted).toContain(evidenceText(evidence.excerpt));
    }
    const rows = lines.filter((line) => line.startsWith('| ')).map(tableCells);
    for (const check of report.checks) {
      expect(rows).toContainEqual(expect.arrayContaining([escapeMarkdownCell(check.name), check.status]));
    }
    for (const step of report.nextSteps) expect(lines).toContain(`- [ ] ${escapeMarkdownInline(step)}`);
    for (const item of report.ruledOut) expect(lines).toContain(`- ${escapeMarkdownInline(item)}`);
    for (const entry of report.timeline)
      expect(rows).toContainEqual([entry.at, escapeMarkdownCell(entry.event)]);
    for (const [status, count] of Object.entries(report.traffic.byStatus)) {
      expect(rows).toContainEqual([status, count.toLocaleString('en-US')]);
    }
    for (const upstream of Object.keys(report.traffic.byUpstream))
      expect(rows.map((row) => row[0])).toContain(upstream);
  });

  it('puts the summary first, then the decisive evidence, next steps, findings, and the detail', () => {
    const markdown = renderMarkdown(loadReport('upstream-down'));
    const order = [
      '> **Nothing listens',
      '## Decisive evidence',
      '## Next steps',
      '## Findings',
      '## Ruled out',
      '## Traffic',
      '## Checks',
      '## Timeline',
    ];
    const offsets = order.map((heading) => markdown.indexOf(heading));
    expect(offsets.every((offset) => offset > -1)).toBe(true);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
  });

  it('gives the traffic totals and the worst minute', () => {
    const markdown = renderMarkdown(loadReport('upstream-down'));
    expect(markdown).toContain('93 requests, 4 answered 5xx (4.3%)');
    expect(markdown).toContain(
      'Worst minute: 2026-11-24T05:52:00Z, 4 of 4 requests answered 5xx (502: 4, 504: 0).',
    );
  });

  it('states when a resolved incident recovered and how long it lasted', () => {
    const markdown = renderMarkdown(loadReport('upstream-timeout-resolved'));
    expect(markdown).toContain('- **State:** resolved at 2026-11-24T06:13:55Z after 21 min');
  });

  it('says so when a healthy report has nothing to do', () => {
    const markdown = renderMarkdown(loadReport('healthy'));
    expect(markdown).not.toContain('## Decisive evidence');
    expect(markdown).toContain('## Next steps\n\nNothing to do.');
    expect(markdown).toContain('## Findings\n\nNo findings.');
  });

  it('redacts a secret left in quoted evidence', () => {
    const markdown = renderMarkdown(loadReport('upstream-closed-early-day'));
    expect(markdown).not.toContain('abc123');
    expect(markdown).toContain('session=[REDACTED]');
  });
});

describe('renderMarkdown on hostile input', () => {
  it.each(HOSTILE_STRINGS.map((value) => [JSON.stringify(value).slice(0, 60), value] as const))(
    'keeps %s in its place in every field',
    (_label, value) => {
      for (const vocabulary of [false, true]) {
        const report = hostileReport(value, { vocabulary });
        const markdown = renderMarkdown(report);
        expect(checkMarkdown(markdown)).toEqual([]);
        // Exactly the quoted blocks, in order: evidence (decisive, then per finding) and the samples.
        const excerpts = report.findings[0]!.evidence.map((evidence) => evidenceText(evidence.excerpt));
        expect(blocks(markdown)).toEqual(
          [...excerpts, ...excerpts, evidenceText(report.traffic.samples.join('\n'))].map((text) =>
            text.replace(/\n+$/, ''),
          ),
        );
        // Headings are ours only: report text cannot open one.
        const headings = splitFences(markdown).outside.filter((line) => line.startsWith('#'));
        expect(headings.map((line) => line.split(' ')[0])).toEqual([
          '#',
          '##',
          '##',
          '##',
          '###',
          '###',
          '##',
          '##',
          '##',
          '##',
        ]);
      }
    },
  );

  it('negative control: the checks notice evidence that escapes a naive three-backtick fence', () => {
    const excerpt = '```\n<script>alert(1)</script>\n[x](javascript:alert(1))';
    const naive = `intro\n\n\`\`\`text\n${excerpt}\n\`\`\`\n`;
    expect(blocks(naive)).not.toContain(excerpt);
    const problems = checkMarkdown(naive).join('\n');
    expect(problems).toMatch(/unescaped markup character: <script>/);
    expect(problems).toMatch(/unescaped markup character: \[x\]/);
  });

  it('negative control: the checks notice a table cell split by a raw pipe', () => {
    expect(checkMarkdown('| a | b |\n|---|---|\n| x | y | z |').join('\n')).toMatch(/3 cells instead of 2/);
  });

  it('quotes any evidence verbatim and lets nothing out of its block', () => {
    fc.assert(
      fc.property(
        fc
          .array(
            fc.oneof(
              fc.string({ unit: 'binary' }),
              fc.constantFrom(...HOSTILE_STRINGS),
              fc.constantFrom('`', '\n', '|', '<', '['),
            ),
            {
              maxLength: 6,
            },
          )
          .map((parts) => parts.join('')),
        (value) => {
          const report = hostileReport(value);
          const markdown = renderMarkdown(report);
          expect(checkMarkdown(markdown)).toEqual([]);
          expect(blocks(markdown)[0]).toBe(evidenceText(`excerpt ${value}`).replace(/\n+$/, ''));
          expect(markdown).toContain(`> **${prose(`summary ${value}`)}**`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
