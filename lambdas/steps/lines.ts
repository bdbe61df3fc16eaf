/** Splits a stream of byte chunks into lines (LF or CRLF), whatever the chunk boundaries. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let carry = '';
  for await (const chunk of chunks) {
    const text = carry + decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  const rest = carry + decoder.decode();
  if (rest.length > 0) yield rest;
}
