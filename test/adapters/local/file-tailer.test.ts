import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileTailer,
  type FileTailerOptions,
  type TailLine,
} from '../../../lambdas/adapters/local/file-tailer.ts';

let dir: string;
let path: string;
let clock: number;
const tailers: FileTailer[] = [];
const fds: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatewatch-tail-'));
  path = join(dir, 'access.log');
  clock = 1_000_000;
});

afterEach(async () => {
  await Promise.all(tailers.splice(0).map((t) => t.close()));
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // already closed by the test
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A log writer like nginx: opens with O_APPEND and keeps its descriptor until told to reopen. */
function writer(file = path): { write: (text: string) => void; reopen: () => void; close: () => void } {
  let fd = openSync(file, 'a');
  fds.push(fd);
  return {
    write: (text) => {
      writeSync(fd, text);
    },
    reopen: () => {
      closeSync(fd);
      fd = openSync(file, 'a');
      fds.push(fd);
    },
    close: () => closeSync(fd),
  };
}

function tailer(options: Partial<FileTailerOptions> = {}): FileTailer {
  const t = new FileTailer({ path, rotationGraceMs: 1000, now: () => clock, ...options });
  tailers.push(t);
  return t;
}

async function texts(t: FileTailer): Promise<string[]> {
  return (await t.poll()).map((line) => line.text);
}

describe('FileTailer', () => {
  it('starts at the end by default and emits only complete lines', async () => {
    writeFileSync(path, 'written before the start\n');
    const log = writer();
    const t = tailer();
    expect(await texts(t)).toEqual([]);
    log.write('first\nsecond half-');
    expect(await texts(t)).toEqual(['first']);
    log.write('done\n');
    expect(await texts(t)).toEqual(['second half-done']);
  });

  it('reads existing content with start: beginning', async () => {
    writeFileSync(path, 'one\ntwo\n');
    expect(await texts(tailer({ start: 'beginning' }))).toEqual(['one', 'two']);
  });

  it('waits for a file that does not exist yet and reads it from its first line', async () => {
    const t = tailer();
    expect(await texts(t)).toEqual([]);
    writeFileSync(path, 'created later\n');
    expect(await texts(t)).toEqual(['created later']);
  });

  it('follows rotation by rename: reads the old inode to its end, including a line finished after the rename', async () => {
    writeFileSync(path, '');
    const nginx = writer();
    const lateWorker = writer(); // a second worker process that reopens later than the first
    const t = tailer();
    const got: string[] = [];
    got.push(...(await texts(t)));
    nginx.write('a1\na2\n');
    got.push(...(await texts(t)));
    nginx.write('a3 first half, ');
    got.push(...(await texts(t)));

    renameSync(path, `${path}.1`); // logrotate: rename
    nginx.write('a3 second half\na4\n'); // the writer still has the old inode
    got.push(...(await texts(t)));
    writeFileSync(path, ''); // logrotate: create
    nginx.write('a5\n');
    got.push(...(await texts(t)));

    nginx.reopen(); // USR1: the first worker now writes to the new file
    nginx.write('b1\nb2\n');
    got.push(...(await texts(t)));
    lateWorker.write('a6 from the late worker\n');
    clock += 500; // within the grace period the old inode is still read
    got.push(...(await texts(t)));
    clock += 5000;
    got.push(...(await texts(t)));
    lateWorker.write('lost: written to the old inode long after rotation\n');
    nginx.write('b3\n');
    got.push(...(await texts(t)));

    expect(got).toEqual([
      'a1',
      'a2',
      'a3 first half, a3 second half',
      'a4',
      'a5',
      'b1',
      'b2',
      'a6 from the late worker',
      'b3',
    ]);
  });

  it('follows copytruncate: a half-read line continues at the start of the truncated file', async () => {
    writeFileSync(path, '');
    const log = writer();
    const t = tailer();
    const got: string[] = [...(await texts(t))];
    log.write('l1\nl2\n');
    got.push(...(await texts(t)));
    log.write('l3\nl4 first half, ');
    got.push(...(await texts(t)));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    log.write('l4 second half\nl5\n');
    got.push(...(await texts(t)));
    expect(got).toEqual(['l1', 'l2', 'l3', 'l4 first half, l4 second half', 'l5']);
  });

  it('after copytruncate reads the lines written since the last poll from the copy', async () => {
    writeFileSync(path, '');
    const log = writer();
    const t = tailer();
    const got: string[] = [...(await texts(t))];
    log.write('m1\n');
    got.push(...(await texts(t)));
    log.write('m2\nm3\n'); // not yet read when logrotate copies and truncates
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    log.write('m4\n');
    got.push(...(await texts(t)));
    expect(got).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('detects a truncation the file has already outgrown by the next poll', async () => {
    writeFileSync(path, '');
    const log = writer();
    const t = tailer();
    const got: string[] = [...(await texts(t))];
    log.write('n1\n');
    got.push(...(await texts(t)));
    log.write('n2\n');
    copyFileSync(path, `${path}-20261124`);
    truncateSync(path, 0);
    log.write('n3 is longer than everything the file held before the truncation\n');
    got.push(...(await texts(t)));
    expect(got).toEqual(['n1', 'n2', 'n3 is longer than everything the file held before the truncation']);
  });

  it('skips the hole a writer without O_APPEND leaves after copytruncate', async () => {
    writeFileSync(path, 'h1\n');
    const fd = openSync(path, 'r+');
    fds.push(fd);
    const t = tailer({ start: 'beginning' });
    expect(await texts(t)).toEqual(['h1']);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    writeSync(fd, 'h2\n', 3); // the writer's own offset: bytes 0-2 become a hole of NULs
    expect(await texts(t)).toEqual(['h2']);
  });

  it('joins a line whose writer reopened the file in its middle once the old file has been quiet', async () => {
    writeFileSync(path, '');
    const log = writer();
    const t = tailer();
    const got: string[] = [...(await texts(t))];
    log.write('p1\np2 first half, ');
    got.push(...(await texts(t)));
    renameSync(path, `${path}.1`);
    writeFileSync(path, '');
    log.reopen();
    log.write('p2 second half\np3\n');
    got.push(...(await texts(t)));
    expect(got).toEqual(['p1']); // held back: the old file's last line is not finished
    clock += 5000;
    got.push(...(await texts(t)));
    expect(got).toEqual(['p1', 'p2 first half, p2 second half', 'p3']);
  });

  it('resumes from a persisted position across a restart and a rotation, without loss or duplicate', async () => {
    writeFileSync(path, '');
    const log = writer();
    const first = tailer({ start: 'beginning' });
    log.write('r1\nr2\n');
    const lines: TailLine[] = await first.poll();
    expect(lines.map((l) => l.text)).toEqual(['r1', 'r2']);
    const saved = JSON.parse(JSON.stringify(first.position()));
    const { dev, ino } = statSync(path);
    expect(saved).toMatchObject({ dev, ino, offset: 6 });
    expect(lines[1]!.position).toEqual(saved);
    await first.close();

    // While gatewatch is down: more lines, then a rotation by rename, then lines in the new file.
    log.write('r3\nr4\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, '');
    log.reopen();
    log.write('r5\n');

    const second = tailer({ start: saved });
    expect(await texts(second)).toEqual(['r3', 'r4', 'r5']);
    log.write('r6\n');
    expect(await texts(second)).toEqual(['r6']);
  });

  it('resumes after a copytruncate without reading the truncated file again', async () => {
    writeFileSync(path, '');
    const log = writer();
    const first = tailer();
    await first.poll();
    const long = `t1 ${'x'.repeat(100)}`; // longer than the fingerprint of the file's first bytes
    log.write(`${long}\n`);
    expect(await texts(first)).toEqual([long]);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    log.write('t2\n');
    expect(await texts(first)).toEqual(['t2']);
    const saved = first.position()!;
    await first.close();
    log.write('t3\n');
    const warnings: string[] = [];
    expect(await texts(tailer({ start: saved, onWarning: (m) => warnings.push(m) }))).toEqual(['t3']);
    expect(warnings).toEqual([]);
  });

  it('resumes at the saved offset of the same file', async () => {
    writeFileSync(path, 's1\ns2\n');
    const first = tailer({ start: 'beginning' });
    await first.poll();
    const saved = first.position()!;
    await first.close();
    const log = writer();
    log.write('s3\n');
    expect(await texts(tailer({ start: saved }))).toEqual(['s3']);
  });

  it('warns and reads the current file from its start when the saved file is gone', async () => {
    writeFileSync(path, 'g1\n');
    const first = tailer({ start: 'beginning' });
    await first.poll();
    const saved = first.position()!;
    await first.close();
    unlinkSync(path);
    writeFileSync(path, 'g2\n');
    const warnings: string[] = [];
    const second = tailer({ start: saved, onWarning: (m) => warnings.push(m) });
    expect(await texts(second)).toEqual(['g2']);
    expect(warnings[0]).toContain('is gone');
  });

  it('yields lines through the async iterator as they are written, until aborted', async () => {
    writeFileSync(path, '');
    const log = writer();
    const t = tailer({ pollIntervalMs: 10, now: Date.now });
    const controller = new AbortController();
    const got: string[] = [];
    const feeding = (async () => {
      for (let i = 1; i <= 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 15));
        log.write(`live ${i}\n`);
      }
    })();
    for await (const line of t.lines(controller.signal)) {
      got.push(line.text);
      if (got.length === 3) controller.abort();
    }
    await feeding;
    expect(got).toEqual(['live 1', 'live 2', 'live 3']);
  });

  it('calls back for every line with start() and stops on close()', async () => {
    writeFileSync(path, '');
    const log = writer();
    const t = tailer({ start: 'beginning', pollIntervalMs: 10, now: Date.now });
    const got: string[] = [];
    let resolveThree: () => void = () => undefined;
    const three = new Promise<void>((resolve) => {
      resolveThree = resolve;
    });
    t.start((line) => {
      got.push(line.text);
      if (got.length === 3) resolveThree();
    });
    log.write('c1\nc2\nc3\n');
    await three;
    await t.close();
    log.write('c4\n');
    expect(got).toEqual(['c1', 'c2', 'c3']);
  });
});

describe('FileTailer on a real nginx access log', () => {
  let nginx: ChildProcess | undefined;
  let port: number;
  let prefix: string;

  async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: p } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return p;
  }

  function request(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  }

  async function until(check: () => Promise<boolean>): Promise<void> {
    while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  beforeEach(async () => {
    prefix = mkdtempSync(join(tmpdir(), 'gatewatch-tail-nginx-'));
    port = await freePort();
    const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`;
    writeFileSync(
      join(prefix, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 2;', // two workers reopen the log independently on USR1
        `pid ${join(prefix, 'nginx.pid')};`,
        `error_log ${join(prefix, 'error.log')} notice;`,
        'events { worker_connections 64; }',
        'http {',
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        `  access_log ${join(prefix, 'access.log')} combined;`,
        `  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } }`,
        '}',
      ].join('\n'),
    );
    nginx = spawn(
      '/usr/sbin/nginx',
      ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')],
      {
        stdio: 'ignore',
      },
    );
    await until(async () => {
      try {
        await request('/ready');
        return true;
      } catch {
        return false;
      }
    });
  });

  afterEach(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    rmSync(prefix, { recursive: true, force: true });
  });

  /** Polls until every request path has been seen; returns the paths of all lines read. */
  async function collect(t: FileTailer, seen: string[], expected: string[]): Promise<void> {
    await until(async () => {
      for (const line of await t.poll()) {
        const path = /"GET (\S+) HTTP/.exec(line.text)?.[1];
        if (path !== undefined) seen.push(path);
      }
      return expected.every((p) => seen.includes(p));
    });
  }

  it('reads every request exactly once across logrotate by rename + USR1 and by copytruncate', async () => {
    const log = join(prefix, 'access.log');
    const t = new FileTailer({ path: log, rotationGraceMs: 300 });
    tailers.push(t);
    await t.poll(); // start at the end: the readiness probe is not part of the test
    const seen: string[] = [];
    const sent: string[] = [];
    const send = async (tag: string, count: number) => {
      for (let i = 0; i < count; i++) {
        sent.push(`/${tag}/${i}`);
        await request(`/${tag}/${i}`);
      }
    };

    await send('before', 5);
    await collect(t, seen, sent);

    // logrotate "create" style: rename, then tell nginx to reopen; requests keep coming meanwhile.
    renameSync(log, `${log}.1`);
    await send('after-rename', 5);
    process.kill(nginx!.pid!, 'SIGUSR1');
    await until(async () => statSync(log, { throwIfNoEntry: false }) !== undefined);
    await send('after-reopen', 5);
    await collect(t, seen, sent);

    // logrotate "copytruncate" style: nginx is not told anything.
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    await send('after-truncate', 5);
    await collect(t, seen, sent);

    // Each request exactly once. Around USR1 the two workers reopen at slightly different moments, so
    // lines from the old and the new file may interleave: compare as sets, and rule out duplicates.
    expect([...seen].sort()).toEqual([...sent].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });
});
