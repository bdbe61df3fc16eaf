/**
 * Reads Markdown the way CommonMark/GFM does where report text could escape its place: fenced code
 * blocks (a fence closes on a line of at least as many of the same character), code spans (a backtick
 * run closes on the next run of exactly the same length), backslash escapes, and table rows (cells split
 * on unescaped `|`, even inside code spans).
 */

export interface FencedBlock {
  info: string;
  content: string;
  /** Line index of the opening fence. */
  line: number;
}

/** Fenced code blocks and the lines outside them. An unclosed fence runs to the end, as in CommonMark. */
export function splitFences(markdown: string): { blocks: FencedBlock[]; outside: string[] } {
  const blocks: FencedBlock[] = [];
  const outside: string[] = [];
  const lines = markdown.split('\n');
  let open: { char: string; length: number; info: string; line: number; body: string[] } | undefined;
  for (const [index, line] of lines.entries()) {
    if (open === undefined) {
      const start = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      if (start && !(start[1]![0] === '`' && start[2]!.includes('`'))) {
        open = {
          char: start[1]![0]!,
          length: start[1]!.length,
          info: start[2]!.trim(),
          line: index,
          body: [],
        };
      } else outside.push(line);
      continue;
    }
    const close = new RegExp(`^ {0,3}\\${open.char}{${open.length},}[ \\t]*$`).exec(line);
    if (close) {
      blocks.push({ info: open.info, content: open.body.join('\n'), line: open.line });
      open = undefined;
    } else open.body.push(line);
  }
  if (open !== undefined) blocks.push({ info: open.info, content: open.body.join('\n'), line: open.line });
  return { blocks, outside };
}

/**
 * One line of inline Markdown with code spans and backslash escapes resolved: `text` has code spans
 * replaced by `\u0001` and escaped characters removed, `spans` holds the code spans' contents, and
 * `unmatchedBackticks` counts backtick runs that open no span (literal backticks an escaper missed).
 */
export function readInline(line: string): { text: string; spans: string[]; unmatchedBackticks: number } {
  let text = '';
  const spans: string[] = [];
  let unmatchedBackticks = 0;
  let i = 0;
  while (i < line.length) {
    const char = line[i]!;
    if (char === '\\' && i + 1 < line.length && /[!-/:-@[-`{-~]/.test(line[i + 1]!)) {
      i += 2; // an escaped punctuation character is literal: it cannot start anything
      continue;
    }
    if (char === '`') {
      let run = 0;
      while (line[i + run] === '`') run++;
      const closing = new RegExp(`(?<!\`)\`{${run}}(?!\`)`, 'g');
      closing.lastIndex = i + run;
      const match = closing.exec(line);
      if (match === null) {
        unmatchedBackticks++;
        text += '`'.repeat(run);
        i += run;
        continue;
      }
      let content = line.slice(i + run, match.index);
      if (content.length > 1 && content.startsWith(' ') && content.endsWith(' ') && content.trim() !== '') {
        content = content.slice(1, -1);
      }
      spans.push(content);
      text += '\u0001';
      i = match.index + run;
      continue;
    }
    text += char;
    i++;
  }
  return { text, spans, unmatchedBackticks };
}

/** Cells of a GFM table row, split on unescaped `|` (code spans do not protect a `|` in GFM). */
export function tableCells(row: string): string[] {
  const cells: string[] = [];
  let current = '';
  for (let i = 0; i < row.length; i++) {
    if (row[i] === '\\' && i + 1 < row.length) {
      current += row.slice(i, i + 2);
      i++;
    } else if (row[i] === '|') {
      cells.push(current);
      current = '';
    } else current += row[i];
  }
  cells.push(current);
  // A row written as `| a | b |` has an empty piece before the first and after the last pipe.
  return cells.slice(1, -1).map((cell) => cell.trim());
}

/**
 * What could let report text act as Markdown outside its code blocks, as a list of problems: raw HTML
 * (`<` not escaped, other than the renderer's own `<br>`), link or image brackets, stray backticks, and
 * table rows whose cell count differs from their header.
 */
export function checkMarkdown(markdown: string): string[] {
  const problems: string[] = [];
  const { outside } = splitFences(markdown);
  let tableWidth: number | undefined;
  for (const line of outside) {
    // The renderer's own markup: the checklist box and the table cells' line breaks.
    const { text, unmatchedBackticks } = readInline(line.replace(/^- \[ \] /, '- ').replace(/<br>/g, ' '));
    if (unmatchedBackticks > 0) problems.push(`stray backticks: ${line}`);
    if (/[<[\]]/.test(text)) problems.push(`unescaped markup character: ${line}`);
    if (line.startsWith('|')) {
      const width = tableCells(line).length;
      if (tableWidth === undefined) tableWidth = width;
      else if (width !== tableWidth)
        problems.push(`table row with ${width} cells instead of ${tableWidth}: ${line}`);
    } else tableWidth = undefined;
  }
  return problems;
}
