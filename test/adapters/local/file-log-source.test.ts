import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileLogSource } from '../../../lambdas/adapters/local/file-log-source.ts';
import { LogUnavailableError } from '../../../lambdas/core/nginx/coverage.ts';
import { accessLineTimeMs, errorLineLocalMs } from '../../../lambdas/core/nginx/log-time.ts';
import { withoutFileOverride } from '../../support/unprivileged.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-logs-fls-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(source: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

const START = Date.parse('2026-12-04T00:00:00Z');
const gatewatchLine = (ms: number, status: number, n: number) =>
  `gw1\t${new Date(ms).toISOString().slice(0, 19)}+00:00\t${status}\t0.010\t127.0.0.1:3000\t${status}\t0.001\t0.009\t0.010\treq${n}\t10.0.0.${n % 250}\t"GET /items/${n} HTTP/1.1"\t512\t"-"\t"curl/8"\tshop\n`;

/** An access log of `lines` lines, one every `stepMs`, with noise (blank lines, junk) mixed in. */
function writeAccessLog(path: string, lines: number, stepMs: number): void {
  const fd = openSync(path, 'w');
  let batch = '';
  for (let i = 0; i < lines; i++) {
    batch += gatewatchLine(START + i * stepMs, i % 97 === 0 ? 502 : 200, i);
    if (i % 1000 === 0) batch += 'garbage that is not a log line\n\n';
    if (batch.length > 1 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
}

describe('FileLogSource', () => {
  it('says a missing log is missing and a directory unreadable, by LogUnavailableError', async () => {
    const source = new FileLogSource();
    const missing = await readAll(source.chunks({ log: join(dir, 'nope.log'), fromMs: 0, toMs: 1 })).catch(
      (e) => e,
    );
    expect(missing).toBeInstanceOf(LogUnavailableError);
    expect(missing.reason).toBe('missing');
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    const notAFile = await readAll(source.chunks({ log: folder, fromMs: 0, toMs: 1 })).catch((e) => e);
    expect(notAFile).toBeInstanceOf(LogUnavailableError);
    expect(notAFile.reason).toBe('unreadable');
  });

  it('says a log without read permission is unreadable (EACCES), also when the tests run as root', async () => {
    const path = join(dir, 'secret.log');
    writeFileSync(path, 'x\n');
    chmodSync(path, 0o000);
    chmodSync(dir, 0o755);
    const module = new URL('../../../lambdas/adapters/local/file-log-source.ts', import.meta.url).pathname;
    const script = `const { FileLogSource } = await import(${JSON.stringify(module)});
      try { for await (const c of new FileLogSource().chunks({ log: ${JSON.stringify(path)}, fromMs: 0, toMs: 1 })) {} console.log('read'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, reason: e.reason, message: e.message })); }`;
    // root reads any file: without CAP_DAC_OVERRIDE for this one read
    const [command, args] = withoutFileOverride(process.execPath, ['--input-type=module', '-e', script]);
    const out = execFileSync(command, args, { encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ name: 'LogUnavailableError', reason: 'unreadable' });
    expect(JSON.parse(out).message).toContain('EACCES');
  });

  it('seeks to the window in a large log: reads a small share of the file and every line of the window', async () => {
    const path = join(dir, 'big-access.log');
    // about 25 MB: 150,000 lines, one per second over ~42 hours
    writeAccessLog(path, 150_000, 1000);
    const size = statSync(path).size;
    const fromMs = START + 140_000 * 1000;
    const toMs = START + 145_000 * 1000;

    const seeking = new FileLogSource({ chunkBytes: 256 * 1024 });
    const text = await readAll(seeking.chunks({ log: path, fromMs, toMs, lineTimeMs: accessLineTimeMs }));
    const from = `gw1\t${new Date(fromMs).toISOString().slice(0, 19)}`;
    const to = `gw1\t${new Date(toMs).toISOString().slice(0, 19)}`;
    const inWindow = (t: string) =>
      t.split('\n').filter((l) => l.slice(0, 23) >= from && l.slice(0, 23) <= to);
    const whole = await readAll(new FileLogSource().chunks({ log: path, fromMs, toMs }));

    expect(inWindow(text)).toEqual(inWindow(whole));
    expect(inWindow(text)).toHaveLength(5001);
    expect(seeking.bytesRead).toBeLessThan(size / 8);
    // the first line handed out is a whole line, not the tail of one
    expect(text.startsWith('gw1\t') || text.startsWith('garbage')).toBe(true);
  });

  it('seeks in the error log with its local time too, and reads the rotated generation first', async () => {
    const path = join(dir, 'error.log');
    const line = (ms: number, n: number) =>
      `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ').replaceAll('-', '/')} [error] 7#7: *${n} connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "shop"\n`;
    const fd = openSync(path, 'w');
    let batch = '';
    for (let i = 0; i < 60_000; i++) {
      batch += line(START + i * 2000, i);
      if (batch.length > 1 << 20) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    writeSync(fd, batch);
    closeSync(fd);
    writeFileSync(`${path}.1`, line(START - 1000, 0));
    utimesSync(`${path}.1`, new Date(), new Date());
    const size = statSync(path).size;
    const fromMs = START + 100_000 * 1000;
    const source = new FileLogSource({ chunkBytes: 128 * 1024 });
    const text = await readAll(
      source.chunks({ log: path, fromMs, toMs: fromMs + 600_000, lineTimeMs: errorLineLocalMs }),
    );
    const times = text
      .split('\n')
      .map(errorLineLocalMs)
      .filter((t) => t !== undefined);
    expect(times[0]).toBe(START - 1000); // the rotated file, read first
    expect(times.filter((t) => t >= fromMs && t <= fromMs + 600_000)).toHaveLength(301);
    expect(source.bytesRead).toBeLessThan(size / 8);
  });

  it('describes a log: size, modification time and last complete lines', async () => {
    const path = join(dir, 'small.log');
    writeFileSync(path, 'one\ntwo\n\nthree\n');
    const description = await new FileLogSource().describe(path);
    expect(description).toMatchObject({ sizeBytes: 15, lastLines: ['one', 'two', 'three'] });
    expect(description?.modifiedMs).toBe(statSync(path).mtimeMs);
    expect(await new FileLogSource().describe(join(dir, 'nope'))).toBeUndefined();
  });
});
