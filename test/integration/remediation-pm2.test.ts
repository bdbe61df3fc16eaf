// Remediation end to end on this machine with a real process manager: an upstream under pm2 (a private
// PM2_HOME in a temp folder, its daemon killed at the end) behind a real nginx, `gatewatch watch` and
// `gatewatch diagnose` and `gatewatch approve` run as processes (bin/gatewatch.mjs), a real SMTP server for
// the notifications. The upstream is crashed with SIGKILL (pm2's autorestart off, so only gatewatch or a
// person brings it back). Assertions wait for outcomes with generous deadlines; nothing measures time.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { GATEWATCH_BIN } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PM2 = join(ROOT, 'node_modules/.bin/pm2');

let work: string;
let env: NodeJS.ProcessEnv;
let lab: NginxLab;
let appPort: number;
const appName = `gw-rem-${process.pid}`;
const children: ChildProcess[] = [];
const mails: { subject: string; body: string }[] = [];
let smtp: SMTPServer;
let smtpPort: number;

function pm2(...args: string[]): string {
  const run = spawnSync(PM2, args, { env, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`pm2 ${args.join(' ')} failed: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

function appPid(): number {
  const list = JSON.parse(pm2('jlist')) as { name: string; pid: number; pm2_env: { status: string } }[];
  return list.find((p) => p.name === appName)?.pid ?? 0;
}

/** How often the app has started: it appends a line to starts.log each time (pm2's counter ignores `pm2 restart` of a stopped app). */
async function appStarts(): Promise<number> {
  const text = await readFile(join(work, 'starts.log'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').length;
}

async function appAnswers(): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${appPort}/health`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 120_000,
  detail?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${detail ? `\n${await detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Crashes the app (SIGKILL) and waits until nothing answers on its port. */
async function crashApp(): Promise<void> {
  const pid = await until(() => appPid() || undefined, 'the app to have a pid');
  process.kill(pid, 'SIGKILL');
  await until(async () => !(await appAnswers()), 'the app to stop answering');
  // A client meets the outage through nginx: the refusal is in the logs the diagnosis reads (without it
  // the window holds only what earlier tests left there).
  await lab.get('/').catch(() => 0);
}

async function writeConfig(
  name: string,
  remediation: Record<string, unknown>,
  reports: string,
): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      targets: [
        {
          name: 'shop',
          probe: { url: `http://127.0.0.1:${lab.port}/health`, intervalSeconds: 1, timeoutMs: 2000 },
          nginx: {
            errorLog: lab.errorLog,
            accessLog: lab.accessLog,
            conf: lab.confPath,
            prefix: lab.prefix,
            utcOffset: '+00:00',
          },
          upstreams: [{ address: `127.0.0.1:${appPort}`, service: { pm2: appName } }],
          remediation,
        },
      ],
      reports: { dir: reports },
      notify: { email: ['oncall@example.com'], smtp: { host: '127.0.0.1', port: smtpPort } },
    }),
  );
  return file;
}

function cli(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [GATEWATCH_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function reports(dir: string): Promise<Report[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('shop-')).sort();
  const out: Report[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name, 'report.json'), 'utf8').catch(() => undefined);
    if (text) out.push(JSON.parse(text) as Report);
  }
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-remediation-'));
  env = {
    ...process.env,
    PM2_HOME: join(work, 'pm2'),
    PATH: `${dirname(process.execPath)}:${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
  };
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.indexOf('\r\n\r\n');
        const head = raw.slice(0, split).replace(/\r\n(?=[ \t])/g, '');
        mails.push({
          subject: /^subject: (.*)$/im.exec(head)?.[1] ?? '',
          body: raw.slice(split + 4).replace(/=\r?\n/g, ''),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  appPort = await freePort();
  const app = join(work, 'app.cjs');
  await writeFile(
    app,
    `require('node:fs').appendFileSync(${JSON.stringify(join(work, 'starts.log'))}, process.pid + '\\n');\nrequire('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('ok'); }).listen(${appPort}, '127.0.0.1');\n`,
  );
  pm2('start', app, '--name', appName, '--no-autorestart');
  await until(() => appAnswers(), 'the app under pm2 to answer');
  lab = await NginxLab.start({
    server: `location / { proxy_pass http://127.0.0.1:${appPort}; proxy_connect_timeout 2s; }`,
  });
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  try {
    pm2('kill');
  } catch {
    // The daemon is gone already.
  }
  spawnSync(lab?.binary ?? 'nginx', [
    '-p',
    lab?.prefix ?? '/nonexistent',
    '-c',
    lab?.confPath ?? '/nonexistent',
    '-s',
    'stop',
  ]);
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await rm(work, { recursive: true, force: true });
}, 120_000);

describe('remediation with pm2 behind a real nginx', () => {
  it('in auto mode with maxPerHour 2: five crashes give two verified restarts, then escalations and no third restart', async () => {
    const dir = join(work, 'auto');
    const config = await writeConfig(
      'auto',
      { mode: 'auto', actions: ['restart-service'], maxPerHour: 2, verifySeconds: 30 },
      dir,
    );
    const watch = cli(['watch', '--config', config, '--cooldown', '0']);
    try {
      await until(() => watch.output().includes('Ctrl-C stops'), 'watch to start');
      const restartsBefore = await appStarts();

      // Crashes 1 and 2: gatewatch restarts the app and verifies recovery by probe.
      for (let crash = 1; crash <= 2; crash++) {
        await crashApp();
        const verified = await until(
          async () => {
            const all = await reports(dir);
            return all.filter((r) => r.remediation?.status === 'verified').length >= crash ? all : undefined;
          },
          `crash ${crash} to be repaired and verified`,
          120_000,
          async () =>
            `${JSON.stringify(
              (await reports(dir)).map((r) => [
                r.incidentId,
                r.verdict.rootCause,
                r.remediation,
                r.resolvedAt,
              ]),
              null,
              1,
            )}\n${watch.output().slice(-3000)}`,
        );
        expect(await appAnswers()).toBe(true);
        const report = verified.filter((r) => r.remediation?.status === 'verified')[crash - 1]!;
        // This host's kernel log holds an unrelated OOM kill of a process named `node` (the noise fixture),
        // which the classifier may attach to the crashed node app: both verdicts map to restart-service.
        expect(['upstream-down', 'resource-memory-oom']).toContain(report.verdict.rootCause);
        const audit = report.remediation!;
        expect(audit.mode).toBe('auto');
        expect(audit.proposed).toMatchObject({
          action: 'restart-service',
          rule: `${report.verdict.rootCause}→restart-service`,
          host: 'local',
        });
        expect(audit.ran?.commands).toEqual([`pm2 restart ${appName}`]);
        expect(audit.ran?.outcome).toBe('ok');
        expect(audit.before?.ok).toBe(false);
        expect(audit.after?.at(-1)?.ok).toBe(true);
        expect(audit.verified).toBe(true);
        expect(audit.escalated).toBe(false);
        const md = await readFile(join(dir, report.incidentId, 'report.md'), 'utf8');
        expect(md).toContain('## Remediation');
        expect(md).toContain(`pm2 restart ${appName}`);
        const html = await readFile(join(dir, report.incidentId, 'report.html'), 'utf8');
        expect(html).toContain('id="remediation"');
        // Let the incident resolve before the next crash.
        await until(
          async () =>
            (await readFile(join(dir, report.incidentId, 'report.json'), 'utf8')).includes('resolvedAt'),
          'the incident to resolve',
        );
      }
      expect((await appStarts()) - restartsBefore).toBe(2);

      // Crashes 3 to 5: the hourly budget is spent: refused, escalated, nothing restarted by gatewatch.
      for (let crash = 3; crash <= 5; crash++) {
        await crashApp();
        const refused = await until(async () => {
          const all = (await reports(dir)).filter((r) => r.remediation?.status === 'refused');
          return all.length >= crash - 2 ? all : undefined;
        }, `crash ${crash} to be refused`);
        const audit = refused[crash - 3]!.remediation!;
        expect(audit.guardrail).toBe('rate-limit-target');
        expect(audit.escalated).toBe(true);
        expect(audit.ran).toBeUndefined();
        expect(await appAnswers()).toBe(false);
        await until(
          () =>
            mails.some(
              (m) =>
                m.subject.includes('[remediation failed]') && m.body.includes(refused[crash - 3]!.incidentId),
            ),
          'the escalation e-mail',
        );
        // A person brings it back (counted apart from gatewatch's restarts).
        pm2('restart', appName);
        await until(() => appAnswers(), 'the app to be back');
        await until(
          async () =>
            (await readFile(join(dir, refused[crash - 3]!.incidentId, 'report.json'), 'utf8')).includes(
              'resolvedAt',
            ),
          'the incident to resolve',
        );
      }
      const ledger = JSON.parse(
        await readFile(join(dir, '.gatewatch-remediation', 'ledger.json'), 'utf8'),
      ) as { entries: { outcome: string }[] };
      expect(ledger.entries.filter((e) => e.outcome === 'verified')).toHaveLength(2);
      expect(ledger.entries.filter((e) => e.outcome === 'refused')).toHaveLength(3);
      // Two restarts by gatewatch, three by the person.
      expect((await appStarts()) - restartsBefore).toBe(5);
    } finally {
      // Stopped whatever happened: a watch left running in auto mode would repair the next test's crash.
      watch.child.kill('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  }, 600_000);

  it('in approve mode runs nothing until `gatewatch approve`, then restarts and verifies', async () => {
    const dir = join(work, 'approve');
    const config = await writeConfig(
      'approve',
      { mode: 'approve', actions: ['restart-service'], approvalSeconds: 120, verifySeconds: 30 },
      dir,
    );
    await crashApp();
    const diagnose = cli(['diagnose', '--config', config, '--since', '5m']);
    const request = await until(
      async () => {
        const names = await readdir(join(dir, '.gatewatch-approvals')).catch(() => [] as string[]);
        return names.find((n) => n.endsWith('.request.json'));
      },
      'the approval request',
      120_000,
      async () => diagnose.output().slice(-3000),
    );
    const incidentId = request.replace('.request.json', '');
    const pending = JSON.parse(await readFile(join(dir, incidentId, 'report.json'), 'utf8')) as Report;
    expect(pending.remediation?.status).toBe('awaiting-approval');
    expect(pending.remediation?.proposed?.approveCommand).toBe(
      `gatewatch approve ${incidentId} --action restart-service`,
    );
    await until(
      () => mails.some((m) => m.subject.includes('approval needed') && m.body.includes(incidentId)),
      'the approval e-mail',
    );
    // Waiting: nothing ran.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await appAnswers()).toBe(false);
    expect(diagnose.child.exitCode).toBeNull();

    const wrong = cli(['approve', incidentId, '--config', config, '--action', 'reload-nginx']);
    expect(await wrong.exited).toBe(2);
    expect(wrong.output()).toContain('proposes restart-service');
    const approve = cli([
      'approve',
      incidentId,
      '--config',
      config,
      '--action',
      'restart-service',
      '--by',
      'alice',
    ]);
    expect(await approve.exited).toBe(0);
    expect(await diagnose.exited).toBe(0);
    expect(await appAnswers()).toBe(true);
    const done = JSON.parse(await readFile(join(dir, incidentId, 'report.json'), 'utf8')) as Report;
    expect(done.remediation).toMatchObject({
      status: 'verified',
      verified: true,
      approval: { status: 'approved', by: 'alice' },
    });
    const again = cli(['approve', incidentId, '--config', config]);
    expect(await again.exited).toBe(2);
  }, 300_000);

  it('in approve mode an expired approval runs nothing, and approving it afterwards is refused', async () => {
    const dir = join(work, 'expire');
    const config = await writeConfig(
      'expire',
      { mode: 'approve', actions: ['restart-service'], approvalSeconds: 3 },
      dir,
    );
    await crashApp();
    const restarts = await appStarts();
    const diagnose = cli(['diagnose', '--config', config, '--since', '5m']);
    expect(await diagnose.exited).toBe(0);
    const [report] = await reports(dir);
    expect(report?.remediation).toMatchObject({ status: 'not-approved', approval: { status: 'expired' } });
    expect(report?.remediation?.ran).toBeUndefined();
    expect(await appAnswers()).toBe(false);
    expect(await appStarts()).toBe(restarts);
    const late = cli(['approve', report!.incidentId, '--config', config]);
    expect(await late.exited).toBe(2);
    expect(late.output()).toContain('expired');
    pm2('restart', appName);
    await until(() => appAnswers(), 'the app to be back');
  }, 300_000);

  it('never lets hostile log lines or trigger text reach the action command line (canary)', async () => {
    const dir = join(work, 'hostile');
    const canary = join(work, 'CANARY');
    const config = await writeConfig(
      'hostile',
      { mode: 'auto', actions: ['restart-service'], verifySeconds: 30 },
      dir,
    );
    await crashApp();
    await lab.get('/');
    const stamp = new Date().toISOString().slice(0, 19).replace('T', ' ').replaceAll('-', '/');
    const hostile = [
      `${stamp} [error] 1#1: *9 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: $(touch ${canary}), request: "GET /;touch ${canary} HTTP/1.1", upstream: "http://127.0.0.1:${appPort}/\`touch ${canary}\`", host: "x'; touch ${canary}; '"`,
      `${stamp} [error] 1#1: *10 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: x, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:${appPort}/", host: "$(touch ${canary})"`,
    ];
    await writeFile(lab.errorLog, `${hostile.join('\n')}\n`, { flag: 'a' });
    const diagnose = cli(['diagnose', '--config', config, '--since', '5m']);
    expect(await diagnose.exited).toBe(0);
    const [report] = await reports(dir);
    expect(report?.remediation?.status).toBe('verified');
    expect(report?.remediation?.ran?.commands).toEqual([`pm2 restart ${appName}`]);
    expect(existsSync(canary)).toBe(false);
  }, 300_000);

  it('`watch --dry-run` in auto mode records the exact command for the incident and runs nothing', async () => {
    const dir = join(work, 'watch-dry-run');
    const config = await writeConfig(
      'watch-dry-run',
      { mode: 'auto', actions: ['restart-service'], verifySeconds: 30 },
      dir,
    );
    if (!(await appAnswers())) {
      pm2('restart', appName);
      await until(() => appAnswers(), 'the app under pm2 to answer again');
    }
    const watch = cli(['watch', '--config', config, '--cooldown', '0', '--dry-run']);
    try {
      await until(() => watch.output().includes('Ctrl-C stops'), 'watch to start');
      const startsBefore = await appStarts();
      await crashApp();
      const report = await until(
        async () => (await reports(dir)).find((r) => r.remediation !== undefined),
        'the incident with its remediation record',
        120_000,
        async () => watch.output().slice(-3000),
      );
      expect(report.remediation).toMatchObject({ mode: 'auto', dryRun: true });
      expect(
        report.remediation?.ran?.outcome,
        `verdict ${JSON.stringify(report.verdict)}, remediation ${JSON.stringify(report.remediation)}`,
      ).toBe('dry-run');
      expect(report.remediation?.ran?.commands).toEqual([`pm2 restart ${appName}`]);
      // Nothing ran: the app stays down and pm2 started it no more times.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await appAnswers()).toBe(false);
      expect(await appStarts()).toBe(startsBefore);
    } finally {
      watch.child.kill('SIGINT');
      await watch.exited;
    }
  }, 300_000);
});
