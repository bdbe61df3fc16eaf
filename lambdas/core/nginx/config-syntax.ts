/**
 * The syntax layer of the `nginx -T` reader: splits the dump into its files and reads each file into a tree
 * of directives with the same tokenizer rules nginx applies (`ngx_conf_read_token` in
 * src/core/ngx_conf_file.c), so that a value reads here as nginx reads it.
 */

/** One directive as written: `name arg…;` or `name arg… { … }`, located at the line of its name. */
export interface NginxDirective {
  name: string;
  /** Arguments with quotes removed and `\"`, `\'`, `\\`, `\t`, `\r`, `\n` unescaped, as nginx does. */
  args: string[];
  file: string;
  line: number;
  /** Present for block directives. Blocks of Lua code (`*_by_lua_block`) are skipped and left empty. */
  block?: NginxDirective[];
}

/** One `# configuration file …:` section of the dump. */
export interface NginxDumpSection {
  file: string;
  /** The file's text; its first line is line 1 of the file. */
  text: string;
}

/** The dump or one of its files cannot be read as nginx configuration. The message names file and line. */
export class NginxConfigParseError extends Error {
  override name = 'NginxConfigParseError';
  readonly file: string;
  readonly line: number;

  constructor(reason: string, file: string, line: number, options?: { cause?: unknown }) {
    super(`${reason} in ${file}:${line}`, options);
    this.file = file;
    this.line = line;
  }
}

/** The name used in errors about the dump as a whole (no section to blame). */
export const DUMP_NAME = 'nginx -T output';

const SECTION_HEADER = /^# configuration file (.+):\r?$/;
// What nginx writes on stderr around a dump; tolerated anywhere because callers often merge the streams
// (`2>&1`) or append stderr after stdout.
const NGINX_MESSAGE = [
  /^nginx: the configuration file .+ syntax is ok\r?$/,
  /^nginx: configuration file .+ test is successful\r?$/,
  /^nginx: \[(?:emerg|alert|crit|error|warn|notice|info|debug)\] /,
  /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[(?:emerg|alert|crit|error|warn|notice|info|debug)\] \d+#\d+: /,
  /^nginx version: nginx\/\S+\r?$/,
];
const NGINX_VERSION_LINE = /^nginx version: nginx\/(\d+\.\d+\.\d+)/m;

/** The version from an `nginx version: nginx/1.22.1` line (`nginx -v`/`-V` output), if the text has one. */
export function nginxVersionIn(text: string): string | undefined {
  return NGINX_VERSION_LINE.exec(text)?.[1];
}

/**
 * Splits `nginx -T` output into its files. nginx writes each file as `# configuration file PATH:`, the file's
 * bytes and one newline; it writes a file included twice only once. Text before the first section and nginx's
 * own messages are not configuration and are dropped (a message line inside a section becomes an empty line,
 * so line numbers stay right).
 *
 * A line in a file that reads exactly like a section header starts a new section: nginx -T gives no way to
 * tell the two apart.
 */
export function splitNginxDump(text: string): NginxDumpSection[] {
  const sections: NginxDumpSection[] = [];
  let current: { file: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    const header = SECTION_HEADER.exec(line);
    if (header) {
      if (current) sections.push({ file: current.file, text: current.lines.join('\n') });
      current = { file: header[1]!, lines: [] };
      continue;
    }
    if (!current) continue;
    current.lines.push(NGINX_MESSAGE.some((message) => message.test(line)) ? '' : line);
  }
  if (current) sections.push({ file: current.file, text: current.lines.join('\n') });
  if (sections.length === 0) {
    throw new NginxConfigParseError(
      'no "# configuration file …:" section: this is not the output of `nginx -T` (empty when `nginx -t` fails)',
      DUMP_NAME,
      1,
    );
  }
  return sections;
}

/** Deeper nesting than any real configuration; bounds the work and the recursion of later stages. */
export const MAX_NESTING = 100;

const isSpace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';

/**
 * Reads one configuration file into directives, following nginx's tokenizer: whitespace separates words;
 * `;`, `{` and `}` end them; `#` starts a comment only where a word could start; quotes only open at the start
 * of a word and must be followed by whitespace, `;`, `{` or `)`; a backslash protects the next character;
 * `${` inside a word does not open a block.
 */
export function parseNginxFile(text: string, file: string): NginxDirective[] {
  const root: NginxDirective[] = [];
  const stack: { list: NginxDirective[]; line: number }[] = [{ list: root, line: 0 }];
  let line = 1;
  let args: string[] = [];
  let directiveLine = 0;
  let start = 0;
  let startLine = 1;
  let lastSpace = true;
  let needSpace = false;
  let sharpComment = false;
  let quoted = false;
  let singleQuoted = false;
  let doubleQuoted = false;
  let variable = false;

  const fail = (reason: string, at = line): never => {
    throw new NginxConfigParseError(reason, file, at);
  };
  const reset = (): void => {
    args = [];
    lastSpace = true;
    needSpace = false;
    sharpComment = false;
    quoted = false;
    singleQuoted = false;
    doubleQuoted = false;
    variable = false;
  };
  const current = (): NginxDirective[] => stack[stack.length - 1]!.list;
  const finishDirective = (): void => {
    current().push({ name: args[0]!, args: args.slice(1), file, line: directiveLine });
    reset();
  };
  const openBlock = (position: number): number => {
    const directive: NginxDirective = {
      name: args[0]!,
      args: args.slice(1),
      file,
      line: directiveLine,
      block: [],
    };
    current().push(directive);
    reset();
    if (/_by_lua_block$/.test(directive.name)) {
      const end = skipLuaBlock(text, position, line, file);
      line = end.line;
      return end.position;
    }
    if (stack.length > MAX_NESTING) fail(`blocks nested deeper than ${MAX_NESTING} levels`);
    stack.push({ list: directive.block!, line: directive.line });
    return position;
  };
  const addWord = (end: number): void => {
    if (args.length === 0) directiveLine = startLine;
    args.push(unescapeWord(text.slice(start, end)));
  };

  let pos = 0;
  while (pos < text.length) {
    const ch = text[pos]!;
    pos += 1;
    if (ch === '\n') {
      line += 1;
      sharpComment = false;
    }
    if (sharpComment) continue;
    if (quoted) {
      quoted = false;
      continue;
    }
    if (needSpace) {
      if (isSpace(ch)) {
        lastSpace = true;
        needSpace = false;
        continue;
      }
      if (ch === ';') {
        finishDirective();
        continue;
      }
      if (ch === '{') {
        pos = openBlock(pos);
        continue;
      }
      // `if ($a = "b")`: nginx lets a closing parenthesis follow a quoted word; it starts a word of its own.
      if (ch !== ')') fail(`unexpected "${ch}"`);
      lastSpace = true;
      needSpace = false;
    }
    if (lastSpace) {
      start = pos - 1;
      startLine = line;
      if (isSpace(ch)) continue;
      switch (ch) {
        case ';':
        case '{':
          if (args.length === 0) fail(`unexpected "${ch}"`);
          if (ch === ';') finishDirective();
          else pos = openBlock(pos);
          continue;
        case '}':
          if (args.length !== 0) fail('unexpected "}"');
          if (stack.length === 1) fail('unexpected "}"');
          stack.pop();
          reset();
          continue;
        case '#':
          sharpComment = true;
          continue;
        case '\\':
          quoted = true;
          lastSpace = false;
          continue;
        case '"':
          start += 1;
          doubleQuoted = true;
          lastSpace = false;
          continue;
        case "'":
          start += 1;
          singleQuoted = true;
          lastSpace = false;
          continue;
        case '$':
          variable = true;
          lastSpace = false;
          continue;
        default:
          lastSpace = false;
          continue;
      }
    }
    if (ch === '{' && variable) continue;
    variable = false;
    if (ch === '\\') {
      quoted = true;
      continue;
    }
    if (ch === '$') {
      variable = true;
      continue;
    }
    if (doubleQuoted || singleQuoted) {
      if (ch === (doubleQuoted ? '"' : "'")) {
        addWord(pos - 1);
        doubleQuoted = false;
        singleQuoted = false;
        needSpace = true;
      }
      continue;
    }
    if (isSpace(ch) || ch === ';' || ch === '{') {
      addWord(pos - 1);
      lastSpace = true;
      if (ch === ';') finishDirective();
      else if (ch === '{') pos = openBlock(pos);
    }
  }
  if (args.length > 0 || !lastSpace) fail('unexpected end of file, expecting ";" or "}"');
  if (stack.length > 1) fail('unexpected end of file, expecting "}"');
  return root;
}

/** nginx's unescaping of a word (quoted or not): only `\"`, `\'`, `\\`, `\t`, `\r`, `\n` are escapes. */
function unescapeWord(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i += 1) {
    const ch = raw[i]!;
    const next = raw[i + 1];
    if (ch === '\\' && next !== undefined) {
      if (next === '"' || next === "'" || next === '\\') {
        out += next;
        i += 1;
        continue;
      }
      const control = next === 't' ? '\t' : next === 'r' ? '\r' : next === 'n' ? '\n' : undefined;
      if (control !== undefined) {
        out += control;
        i += 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/**
 * Skips the Lua code of an OpenResty `*_by_lua_block { … }` the way lua-nginx-module reads it: braces count
 * outside Lua strings (`'…'`, `"…"`, `[[…]]`, `[==[…]==]`) and comments (`-- …`, `--[[…]]`). Returns the
 * position after the closing brace.
 */
function skipLuaBlock(
  text: string,
  from: number,
  fromLine: number,
  file: string,
): { position: number; line: number } {
  let depth = 1;
  let line = fromLine;
  let pos = from;
  const advanceTo = (stop: number): void => {
    for (let i = pos; i < stop; i += 1) if (text[i] === '\n') line += 1;
    pos = stop;
  };
  const longBracketAt = (at: number): number | undefined => {
    const match = /^\[(=*)\[/.exec(text.slice(at, at + 64));
    return match ? match[1]!.length : undefined;
  };
  const skipLongBracket = (level: number): void => {
    const close = `]${'='.repeat(level)}]`;
    const end = text.indexOf(close, pos + level + 2);
    advanceTo(end === -1 ? text.length : end + close.length);
  };
  while (pos < text.length) {
    const ch = text[pos]!;
    if (ch === '{' || ch === '}') {
      depth += ch === '{' ? 1 : -1;
      pos += 1;
      if (depth === 0) return { position: pos, line };
    } else if (ch === '"' || ch === "'") {
      let end = pos + 1;
      while (end < text.length && text[end] !== ch && text[end] !== '\n') end += text[end] === '\\' ? 2 : 1;
      advanceTo(Math.min(text[end] === ch ? end + 1 : end, text.length));
    } else if (ch === '[' && longBracketAt(pos) !== undefined) {
      skipLongBracket(longBracketAt(pos)!);
    } else if (ch === '-' && text[pos + 1] === '-') {
      const level = longBracketAt(pos + 2);
      if (level === undefined) {
        const newline = text.indexOf('\n', pos);
        advanceTo(newline === -1 ? text.length : newline);
      } else {
        pos += 2;
        skipLongBracket(level);
      }
    } else {
      advanceTo(pos + 1);
    }
  }
  throw new NginxConfigParseError('unexpected end of file in a Lua block, expecting "}"', file, line);
}
