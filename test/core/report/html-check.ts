/**
 * A small, strict HTML tokenizer and a safety checker for the report page, so the tests can assert what a
 * browser would see without an HTML parser dependency. It follows the WHATWG tokenizer where it matters
 * for script injection: a `<` followed by a letter starts a tag, attributes may be unquoted, quoted or
 * valueless, character references are decoded in attribute values, `<title>`/`<style>`/`<textarea>`…
 * swallow text up to their end tag, except inside `<svg>`/`<math>` (foreign content), where they do
 * not. When unsure it errs towards seeing more tags, never fewer.
 *
 * Strictness (things a browser tolerates but our renderer must never produce) is reported as problems:
 * a raw `<` or `>` in text, an `&` that does not start a character reference, unquoted or duplicate
 * attributes, unterminated comments or tags.
 */

export interface Attribute {
  name: string;
  /** Decoded value; `''` for a valueless attribute. */
  value: string;
  quoted: boolean;
}

export type Token =
  | { type: 'text'; text: string; offset: number; rawText: boolean }
  | { type: 'start'; name: string; attributes: Attribute[]; selfClosing: boolean; offset: number }
  | { type: 'end'; name: string; offset: number }
  | { type: 'comment'; text: string; offset: number }
  | { type: 'doctype'; text: string; offset: number };

export interface Tokenized {
  tokens: Token[];
  /** Strictness violations, with their offset. */
  problems: string[];
}

const RAW_TEXT = new Set([
  'script',
  'style',
  'xmp',
  'iframe',
  'noembed',
  'noframes',
  'noscript',
  'title',
  'textarea',
]);
const FOREIGN = new Set(['svg', 'math']);
const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  colon: ':',
  tab: '\t',
  newline: '\n',
};

/** Decodes character references the way an attribute value is decoded (enough for scheme detection). */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code =
        ref[1] === 'x' || ref[1] === 'X'
          ? Number.parseInt(ref.slice(2), 16)
          : Number.parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\f' || char === '\r';
}

function checkText(text: string, offset: number, problems: string[]): void {
  const bad = /[<>]|&(?!(?:[a-z][a-z0-9]*|#[0-9]+|#x[0-9a-f]+);)/i.exec(text);
  if (bad) problems.push(`raw ${JSON.stringify(bad[0])} in text at ${offset + bad.index}`);
}

/** Splits `source` into tokens the way a browser's tokenizer would, collecting strictness problems. */
export function tokenizeHtml(source: string): Tokenized {
  const tokens: Token[] = [];
  const problems: string[] = [];
  let foreignDepth = 0;
  let i = 0;
  let textStart = 0;

  const flushText = (end: number) => {
    if (end > textStart) {
      const text = source.slice(textStart, end);
      checkText(text, textStart, problems);
      tokens.push({ type: 'text', text: decodeEntities(text), offset: textStart, rawText: false });
    }
  };

  while (i < source.length) {
    if (source[i] !== '<') {
      i++;
      continue;
    }
    const next = source[i + 1] ?? '';
    if (source.startsWith('<!--', i)) {
      flushText(i);
      const end = source.indexOf('-->', i + 4);
      if (end === -1) {
        problems.push(`unterminated comment at ${i}`);
        tokens.push({ type: 'comment', text: source.slice(i + 4), offset: i });
        i = textStart = source.length;
        break;
      }
      tokens.push({ type: 'comment', text: source.slice(i + 4, end), offset: i });
      i = textStart = end + 3;
      continue;
    }
    if (next === '!' || next === '?') {
      flushText(i);
      const end = source.indexOf('>', i);
      const body = source.slice(i + 2, end === -1 ? source.length : end);
      if (/^doctype/i.test(body)) tokens.push({ type: 'doctype', text: body, offset: i });
      else {
        problems.push(`bogus comment <${next}… at ${i}`);
        tokens.push({ type: 'comment', text: body, offset: i });
      }
      i = textStart = end === -1 ? source.length : end + 1;
      continue;
    }
    const isEnd = next === '/';
    const nameStart = isEnd ? i + 2 : i + 1;
    if (!/[a-z]/i.test(source[nameStart] ?? '')) {
      if (isEnd) {
        // `</>` is dropped, `</3` becomes a bogus comment: both mean our output was not escaped.
        flushText(i);
        problems.push(`malformed end tag at ${i}`);
        const end = source.indexOf('>', i);
        i = textStart = end === -1 ? source.length : end + 1;
        continue;
      }
      i++; // a `<` that starts nothing is text; checkText reports it
      continue;
    }
    flushText(i);
    const tagOffset = i;
    let j = nameStart;
    while (j < source.length && !isSpace(source[j]) && source[j] !== '/' && source[j] !== '>') j++;
    const name = source.slice(nameStart, j).toLowerCase();
    const attributes: Attribute[] = [];
    let selfClosing = false;
    let closed = false;
    while (j < source.length) {
      while (isSpace(source[j])) j++;
      if (source[j] === '>') {
        closed = true;
        j++;
        break;
      }
      if (source[j] === '/') {
        selfClosing = source[j + 1] === '>';
        j++;
        continue;
      }
      const attrStart = j;
      j++; // the first character belongs to the name even when it is `=`
      while (j < source.length && !isSpace(source[j]) && !['/', '>', '='].includes(source[j]!)) j++;
      const attrName = source.slice(attrStart, j).toLowerCase();
      let k = j;
      while (isSpace(source[k])) k++;
      let value = '';
      let quoted = false;
      if (source[k] === '=') {
        k++;
        while (isSpace(source[k])) k++;
        const quote = source[k];
        if (quote === '"' || quote === "'") {
          const end = source.indexOf(quote, k + 1);
          if (end === -1) {
            problems.push(`unterminated attribute value at ${k}`);
            value = source.slice(k + 1);
            k = source.length;
          } else {
            value = source.slice(k + 1, end);
            k = end + 1;
          }
          quoted = quote === '"';
          if (quote === "'") problems.push(`single-quoted attribute ${attrName} at ${attrStart}`);
        } else {
          const start = k;
          while (k < source.length && !isSpace(source[k]) && source[k] !== '>') k++;
          value = source.slice(start, k);
          problems.push(`unquoted attribute ${attrName} at ${attrStart}`);
        }
        j = k;
      }
      if (attributes.some((attribute) => attribute.name === attrName)) {
        problems.push(`duplicate attribute ${attrName} at ${attrStart}`);
      }
      attributes.push({ name: attrName, value: decodeEntities(value), quoted });
    }
    if (!closed) problems.push(`unterminated tag <${name} at ${tagOffset}`);
    i = textStart = j;

    if (isEnd) {
      tokens.push({ type: 'end', name, offset: tagOffset });
      if (FOREIGN.has(name) && foreignDepth > 0) foreignDepth--;
      continue;
    }
    tokens.push({ type: 'start', name, attributes, selfClosing, offset: tagOffset });
    if (FOREIGN.has(name) && !selfClosing) foreignDepth++;
    if (foreignDepth === 0 && RAW_TEXT.has(name)) {
      const close = new RegExp(`</${name}(?=[\\s/>])`, 'ig');
      close.lastIndex = i;
      const match = close.exec(source);
      const end = match === null ? source.length : match.index;
      if (match === null) problems.push(`unterminated <${name}> at ${tagOffset}`);
      const text = source.slice(i, end);
      tokens.push({
        type: 'text',
        text: name === 'title' || name === 'textarea' ? decodeEntities(text) : text,
        offset: i,
        rawText: true,
      });
      if (name === 'title' || name === 'textarea') checkText(text, i, problems);
      i = textStart = end;
    }
  }
  flushText(source.length);
  return { tokens, problems };
}

/** The elements the report page is made of. Anything else means data became markup. */
export const REPORT_ELEMENTS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'div',
  'b',
  'header',
  'nav',
  'main',
  'section',
  'article',
  'footer',
  'p',
  'strong',
  'span',
  'code',
  'pre',
  'time',
  'h1',
  'h2',
  'h3',
  'dl',
  'dt',
  'dd',
  'a',
  'figure',
  'figcaption',
  'details',
  'summary',
  'ol',
  'ul',
  'li',
  'label',
  'input',
  'table',
  'caption',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'svg',
  'g',
  'rect',
  'line',
  'text',
  'desc',
]);

/** Strips what a URL parser ignores (whitespace, controls) before looking at the scheme. */
function scheme(value: string): string {
  return value.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
}

/**
 * Everything that would let a report page run code or load something, as a list of problems (empty when
 * the page is safe): script elements, `on*` attributes, `javascript:`/`vbscript:` anywhere in an
 * attribute, links that leave the page, elements outside {@link REPORT_ELEMENTS}, CSS that loads
 * (`url(`, `@import`), and a Content-Security-Policy that is missing, duplicated, late, or allows scripts.
 * Strictness problems from {@link tokenizeHtml} are included.
 */
export function checkReportPage(page: string): string[] {
  const { tokens, problems } = tokenizeHtml(page);
  const found = [...problems];
  let cspCount = 0;
  let sawStyleOrBody = false;
  for (const [index, token] of tokens.entries()) {
    if (token.type === 'text' && token.rawText && tokens[index - 1]?.type === 'start') {
      const owner = (tokens[index - 1] as { name: string }).name;
      if (owner === 'style' && /url\s*\(|@import|expression\s*\(/i.test(token.text))
        found.push('style loads or evaluates something');
    }
    if (token.type !== 'start' && token.type !== 'end') continue;
    if (token.name === 'script') found.push(`<${token.type === 'end' ? '/' : ''}script> at ${token.offset}`);
    if (token.type === 'end') continue;
    if (!REPORT_ELEMENTS.has(token.name)) found.push(`unexpected element <${token.name}> at ${token.offset}`);
    if (token.name === 'style' || token.name === 'body') sawStyleOrBody = true;
    for (const attribute of token.attributes) {
      if (attribute.name.startsWith('on'))
        found.push(`event handler ${attribute.name} on <${token.name}> at ${token.offset}`);
      const value = scheme(attribute.value);
      if (value.includes('javascript:') || value.includes('vbscript:')) {
        found.push(`script URL in ${attribute.name} on <${token.name}> at ${token.offset}`);
      }
      if (
        [
          'href',
          'src',
          'action',
          'formaction',
          'xlink:href',
          'srcset',
          'poster',
          'background',
          'data',
        ].includes(attribute.name)
      ) {
        if (!(token.name === 'a' && attribute.name === 'href' && /^#[a-z0-9-]+$/.test(attribute.value))) {
          found.push(
            `${attribute.name}=${JSON.stringify(attribute.value)} on <${token.name}> leaves the page`,
          );
        }
      }
    }
    if (token.name === 'meta') {
      const equiv = token.attributes
        .find((attribute) => attribute.name === 'http-equiv')
        ?.value.toLowerCase();
      if (equiv === undefined) continue;
      if (equiv !== 'content-security-policy') {
        found.push(`meta http-equiv=${equiv}`);
        continue;
      }
      cspCount++;
      if (sawStyleOrBody) found.push('the CSP meta comes after content it should govern');
      const content = token.attributes.find((attribute) => attribute.name === 'content')?.value ?? '';
      const directives = new Map(
        content
          .split(';')
          .map((part) => part.trim().split(/\s+/))
          .filter((words) => words[0] !== '')
          .map((words) => [words[0]!.toLowerCase(), words.slice(1)] as const),
      );
      if (directives.get('default-src')?.join(' ') !== "'none'")
        found.push(`CSP default-src is not 'none': ${content}`);
      for (const name of ['script-src', 'script-src-elem', 'script-src-attr']) {
        if (directives.has(name)) found.push(`CSP allows scripts through ${name}`);
      }
    }
  }
  if (cspCount !== 1) found.push(`${cspCount} Content-Security-Policy meta elements`);
  return found;
}

/** The decoded text a reader sees (raw text of `<style>` excluded), for "the data is still shown" checks. */
export function visibleText(page: string): string {
  const { tokens } = tokenizeHtml(page);
  return tokens
    .filter(
      (token, index) =>
        token.type === 'text' &&
        !(token.rawText && (tokens[index - 1] as { name?: string }).name === 'style'),
    )
    .map((token) => (token as { text: string }).text)
    .join('');
}
