// `gatewatch watch` end to end on this machine: a real nginx (`nginx -p DIR -c FILE` on 127.0.0.1), a real
// upstream process, real 1 s probes, the deployed alarm rules, the diagnosis workflow, and e-mail through a
// real SMTP server (`smtp-server`) on 127.0.0.1. Assertions wait for outcomes with generous deadlines and
// never measure durations.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ProbeTarget, runProbes } from '../../lambdas/adapters/local/http-prober.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { loadConfigFile } from '../../lambdas/local/config-file.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import type { WatchEvent } from '../../lambdas/local/watch/status-view.ts';
import { startWatch, type WatchHandle } from '../../lambdas/local/watch/watcher.ts';

const CLI = fileURLToPath(new URL('../../bin/gatewatch.ts', import.meta.url));

interface Mail {
  subject: string;
  body: string;
}
const mails: Mail[] = [];
let smtp: SMTPServer;
let smtpPort: number;

/** nodemailer sends non-ASCII text bodies quoted-printable (RFC 2045): soft breaks and `=XX` bytes. */
function decodeQuotedPrintable(body: string): string {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** A header as written (RFC 2047 encoded words, e.g. `=?UTF-8?Q?=E2=80=94?=` for a dash) back to text. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_match, kind: string, text: string) =>
      kind.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.indexOf('\r\n\r\n');
        const head = raw.slice(0, split).replace(/\r\n(?=[ \t])/g, '');
        const subject = /^subject: (.*)$/im.exec(head)?.[1] ?? '';
        mails.push({ subject: decodeHeader(subject), body: decodeQuotedPrintable(raw.slice(split + 4)) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

let work: string;
let lab: NginxLab | undefined;
const upstreams: UpstreamProcess[] = [];
const children: ChildProcess[] = [];
let handle: WatchHandle | undefined;

beforeEach(async () => {
  mails.length = 0;
  work = await mkdtemp(join(tmpdir(), 'gatewatch-watch-'));
});

afterEach(async () => {
  await handle?.stop();
  handle = undefined;
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const upstream of upstreams.splice(0)) await upstream.kill();
  await lab?.stop();
  lab = undefined;
  await rm(work, { recursive: true, force: true });
});

async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  context: () => string = () => '',
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startLab(): Promise<{ port: number; label: string }> {
  const port = await freePort();
  lab = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` });
  const label = `gatewatch-watch-test-${process.pid}-${port}`;
  upstreams.push(await UpstreamProcess.start({ mode: 'ok', port, label }));
  return { port, label };
}

/** gatewatch.yaml for the lab: probes every `interval` s, e-mail to the test SMTP server. */
async function writeConfig(port: number, label: string, interval: number): Promise<string> {
  const path = join(work, 'gatewatch.yaml');
  await writeFile(
    path,
    stringify({
      targets: [
        {
          name: 'lab',
          probe: { url: `http://127.0.0.1:${lab!.port}/`, intervalSeconds: interval },
          nginx: {
            errorLog: lab!.errorLog,
            accessLog: lab!.accessLog,
            conf: lab!.confPath,
            prefix: lab!.prefix,
            binary: lab!.binary,
          },
          upstreams: [{ address: `127.0.0.1:${port}`, service: { process: label } }],
        },
      ],
      reports: { dir: join(work, 'incidents') },
      notify: { email: ['oncall@example.com'], smtp: { host: '127.0.0.1', port: smtpPort } },
    }),
  );
  return path;
}

async function labIncidents(): Promise<string[]> {
  const names = await readdir(join(work, 'incidents')).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith('lab-'));
}

async function readState(): Promise<
  | {
      alarms: Record<string, { state: string }>;
      incidents: {
        active: { key: string; diagnosis: string; resolvedAt?: string; report?: { location: string } }[];
        recent: { key: string; resolvedAt?: string }[];
      };
    }
  | undefined
> {
  try {
    return JSON.parse(await readFile(join(work, 'incidents', '.gatewatch-state.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function cli(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function accessLogLines(): Promise<number> {
  return (await readFile(lab!.accessLog, 'utf8')).split('\n').filter((l) => l !== '').length;
}

describe('gatewatch watch against a real nginx, upstream and SMTP server', () => {
  it('opens exactly one incident when the upstream is killed, e-mails it, and resolves it when the upstream is back', async () => {
    const { port, label } = await startLab();
    const config = await loadConfigFile(await writeConfig(port, label, 1));
    const events: WatchEvent[] = [];
    let runs = 0;
    handle = await startWatch({
      config,
      cooldownSeconds: 5,
      onEvent: (event) => events.push(event),
      deps: {
        probe: (targets: readonly ProbeTarget[]) => {
          runs++;
          return runProbes(targets, { mode: 'local' });
        },
      },
    });
    const watcher = handle.watcher;
    await until(
      () => watcher.status().targets[0]!.alarms.find((a) => a.id === 'lab-probe-failed')?.state === 'OK',
      'the probe alarm to be OK',
    );

    await upstreams[0]!.kill();
    // The minute of the kill is shown once it is over (up to a minute and 5 s later): watched from now on,
    // since a later minute replaces it in the status.
    const refused = until(
      () => watcher.status().targets[0]!.lastUpstreamMinute?.errors.refused?.peers[`127.0.0.1:${port}`],
      'a finished minute with refused connections to the killed upstream',
      () => JSON.stringify(watcher.status().targets[0]!.lastUpstreamMinute),
      90_000,
    );
    refused.catch(() => undefined);
    const diagnosed = await until(
      () => events.find((e) => e.type === 'incident-diagnosed' && e.incident.subject.name === 'lab'),
      'the incident to be diagnosed',
    );
    const incident = diagnosed.type === 'incident-diagnosed' ? diagnosed.incident : undefined;
    expect(incident?.trigger.kind).toBe('probe');
    expect(incident?.trigger.detail).toContain('alarm lab-probe-failed entered ALARM');
    expect(incident?.report?.rootCause).toBe('upstream-down');
    expect(incident?.report?.upstream).toBe(`127.0.0.1:${port}`);
    const location = incident!.report!.location;
    const folder = location.replace(/report\.json$/, '');
    for (const file of ['report.json', 'report.md', 'report.html']) await stat(join(folder, file));
    const opening = await until(
      () => mails.find((m) => m.subject.startsWith('[gatewatch] lab: upstream-down')),
      'the e-mail',
    );
    expect(opening.subject).toBe(`[gatewatch] lab: upstream-down 127.0.0.1:${port}`);
    // The mail names the host and links the HTML report (a file URL locally).
    const htmlLink = pathToFileURL(join(folder, 'report.html')).href;
    expect(opening.body).toContain(`lab on ${hostname()}:`);
    expect(opening.body).toContain(`Report: ${htmlLink}`);

    // The same failure continuing: more failing probe runs, still one incident.
    const runsAtReport = runs;
    await until(() => runs >= runsAtReport + 5, 'five more probe runs');
    expect(
      events.filter((e) => e.type === 'incident-opened' && e.incident.subject.name === 'lab'),
    ).toHaveLength(1);
    expect(await labIncidents()).toHaveLength(1);
    expect(watcher.incidents.active.filter((r) => r.subject.name === 'lab')).toHaveLength(1);

    upstreams.push(await UpstreamProcess.start({ mode: 'ok', port, label }));
    await until(
      () => events.find((e) => e.type === 'incident-resolved' && e.incident.key === incident!.key),
      'the incident to resolve',
    );
    const report = JSON.parse(await readFile(location, 'utf8')) as Report;
    expect(report.resolvedAt).toBeDefined();
    expect(report.durationSeconds).toBe(
      (Date.parse(report.resolvedAt!) - Date.parse(report.openedAt)) / 1000,
    );
    expect(report.durationSeconds).toBeGreaterThan(0);
    expect(await readFile(join(folder, 'report.md'), 'utf8')).toContain(`resolved at ${report.resolvedAt}`);
    const resolution = await until(
      () => mails.find((m) => m.subject.startsWith(`Re: ${opening.subject}`)),
      'the resolution e-mail',
    );
    expect(resolution.subject).toMatch(
      /^Re: \[gatewatch\] lab: upstream-down \S+ — resolved after \d+ (s|min)/,
    );
    expect(resolution.body).toContain(`Report: ${htmlLink}`);
    expect(mails).toHaveLength(2);
    expect(await labIncidents()).toHaveLength(1);
    expect(await refused).toBeGreaterThan(0);
  }, 180_000);

  it('keeps an open incident across a stop and a restart of `gatewatch watch`, and resolves it once', async () => {
    const { port, label } = await startLab();
    // intervalSeconds 60 in the file, 1 s on the command line: the override is what makes this test quick.
    const configPath = await writeConfig(port, label, 60);
    const args = ['watch', '--config', configPath, '--interval-override', '1', '--cooldown', '5'];

    const first = cli(args);
    await until(
      async () => (await readState())?.alarms['lab-probe-failed']?.state === 'OK',
      'the first watch to be healthy',
    );
    await upstreams[0]!.kill();
    const open = await until(
      async () => {
        const state = await readState();
        return state?.incidents.active.find((r) => r.diagnosis === 'done');
      },
      'the incident to be diagnosed',
      () => first.output(),
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('lab: incident opened (probe)');
    expect(first.output()).toContain('1 incident still open, kept in the state file');
    const afterStop = await readState();
    expect(afterStop?.incidents.active.map((r) => [r.key, r.resolvedAt])).toEqual([[open.key, undefined]]);

    // Started again while the upstream is still down: the incident is still open, and no second one opens.
    const second = cli(args);
    await until(
      () => second.output().includes('1 incident resumed from the state file'),
      'the second watch to start',
    );
    const linesAtStart = await accessLogLines();
    await until(async () => (await accessLogLines()) >= linesAtStart + 5, 'five probes through nginx');
    expect((await readState())?.incidents.active.map((r) => r.key)).toEqual([open.key]);
    expect(await labIncidents()).toHaveLength(1);

    upstreams.push(await UpstreamProcess.start({ mode: 'ok', port, label }));
    await until(
      async () => (await readState())?.incidents.recent.find((r) => r.key === open.key && r.resolvedAt),
      'the incident to resolve',
      () => second.output(),
    );
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);

    expect(await labIncidents()).toHaveLength(1);
    const report = JSON.parse(await readFile(open.report!.location, 'utf8')) as Report;
    expect(report.resolvedAt).toBeDefined();
    expect(report.durationSeconds).toBeGreaterThan(0);
    expect(mails.filter((m) => m.subject.startsWith('[gatewatch] lab: upstream-down'))).toHaveLength(1);
    const resolved = (m: Mail) => m.subject.startsWith('Re: [gatewatch] lab: upstream-down');
    await until(() => mails.some(resolved), 'the resolution e-mail');
    expect(mails.filter(resolved)).toHaveLength(1);
    expect(second.output()).not.toContain('lab: incident opened');
  }, 150_000);
});
