// `gatewatch watch` as shipped (bin/gatewatch.mjs in its own process) against a real nginx and a real
// upstream, probing 50 targets every second, three of which fail (their location proxies to a port where
// nothing listens). On a terminal (a pseudo-terminal from util-linux `script`, sized by LINES/COLUMNS) every
// frame fits the rows and columns and the scrollback is not flooded; piped, it prints only changes, one line
// each; with --json, one documented object per event, through a whole incident (opened, diagnosed with its
// report paths, resolved). Noise: an unrelated full tmpfs and OOM kills are on this host; a bystander line
// of another vhost and a malformed line are written into nginx's error log.
import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import { GATEWATCH_BIN, type RunningGatewatch, startGatewatch } from '../support/cli.ts';
import { descendants } from '../support/proc.ts';

const FAILING = ['t-07', 't-23', 't-41'];
const ROWS = 20;
const COLUMNS = 80;

let work: string;
let lab: NginxLab;
let okPort: number;
let badPort: number;
const upstreams: UpstreamProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-watch-display-'));
  okPort = await freePort();
  badPort = await freePort();
  lab = await NginxLab.start({
    server: `location /ok/ { proxy_pass http://127.0.0.1:${okPort}/; }
location /bad/ { proxy_pass http://127.0.0.1:${badPort}/; }`,
  });
  upstreams.push(await UpstreamProcess.start({ mode: 'ok', port: okPort }));
  await appendFile(
    lab.errorLog,
    'not an nginx line at all\n2026/12/06 20:08:01 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: other.example, request: "GET / HTTP/1.1", upstream: "http://10.9.9.9:1/", host: "other.example"\n',
  );
}, 180_000);

afterAll(async () => {
  for (const upstream of upstreams) await upstream.kill();
  await lab?.stop();
  await rm(work, { recursive: true, force: true });
});

/** 50 targets; no alarm fires during the test (100 of 100 failed probes), so no diagnosis loads the host. */
async function fiftyTargets(): Promise<string> {
  const path = join(work, `fifty-${Date.now()}.yaml`);
  await writeFile(
    path,
    stringify({
      targets: Array.from({ length: 50 }, (_, i) => {
        const name = `t-${String(i).padStart(2, '0')}`;
        return {
          name,
          probe: {
            url: `http://127.0.0.1:${lab.port}/${FAILING.includes(name) ? 'bad' : 'ok'}/${name}`,
            intervalSeconds: 1,
            timeoutMs: 10_000,
          },
          nginx: { errorLog: lab.errorLog },
          alarm: { failedProbes: { datapoints: 100, evaluationPeriods: 100 } },
        };
      }),
      reports: { dir: join(work, 'incidents') },
    }),
  );
  return path;
}

/** What a terminal of ROWS x COLUMNS would do with the bytes: frames drawn, rows and columns overflowed. */
function replayTerminal(output: string) {
  let alt = false;
  let row = 0;
  let col = 0;
  let altEnters = 0;
  let normalNewlines = 0;
  let widest = 0;
  const frames: string[][] = [];
  let frame: string[] | undefined;
  let line = '';
  const token =
    /\x1b\[\?1049h|\x1b\[\?1049l|\x1b\[\?25[lh]|\x1b\[H|\x1b\[(\d+);(\d+)H|\x1b\[[0-9;]*[A-Za-z]|\r|\n|[^\x1b\r\n]+/g;
  for (const match of output.matchAll(token)) {
    const t = match[0];
    if (t === '\x1b[?1049h') {
      alt = true;
      altEnters++;
    } else if (t === '\x1b[?1049l') {
      alt = false;
      frame = undefined;
    } else if (t === '\x1b[H') {
      row = 0;
      col = 0;
      if (alt) {
        frame = [];
        frames.push(frame);
        line = '';
      }
    } else if (match[1] !== undefined) {
      row = Number(match[1]) - 1;
      col = Number(match[2]) - 1;
      if (frame) frame.push(line);
      frame = undefined;
    } else if (t === '\r') {
      col = 0;
    } else if (t === '\n') {
      row++;
      if (!alt) normalNewlines++;
      if (frame) {
        frame.push(line);
        line = '';
      }
    } else if (!t.startsWith('\x1b')) {
      const before = col;
      col += [...t].length;
      if (alt) widest = Math.max(widest, col);
      // on the normal screen a long line wraps: each wrap is one more row of scrollback
      else normalNewlines += Math.floor(col / COLUMNS) - Math.floor(before / COLUMNS);
      if (frame) line += t;
    }
  }
  return { frames, altEnters, normalNewlines, widest, endsOnNormalScreen: !alt, row };
}

function stopAndWait(run: RunningGatewatch, pid: number) {
  process.kill(pid, 'SIGINT');
  return run.exited;
}

describe('gatewatch watch with 50 targets', () => {
  it('on a terminal keeps every frame within its rows and columns, failing targets first, and gives the terminal back', async () => {
    const config = await fiftyTargets();
    // `script` gives watch a pseudo-terminal; nobody sizes it, so watch reads LINES and COLUMNS.
    const command = `exec ${process.execPath} ${GATEWATCH_BIN} watch --config ${config} --state ${join(work, 'tty-state.json')}`;
    const run = startGatewatch([], {
      command: ['script', '-qfc', command, '/dev/null'],
      env: { LINES: String(ROWS), COLUMNS: String(COLUMNS), TERM: 'xterm' },
    });
    // every failing target shown as failing, on one frame
    await run.waitFor(
      /t-07\s+FAIL[^\n]*\n(?:[^\n]*\n)?[^\n]*t-23\s+FAIL[^\n]*\n(?:[^\n]*\n)?[^\n]*t-41\s+FAIL/,
      120_000,
    );
    await new Promise((r) => setTimeout(r, 3000)); // a few more redraws
    const watch = descendants(run.child.pid!)[0]!;
    const { code } = await stopAndWait(run, watch.pid);
    expect(code).toBe(0);

    const screen = replayTerminal(run.stdout);
    expect(screen.altEnters).toBe(1);
    expect(screen.endsOnNormalScreen).toBe(true);
    expect(screen.frames.length).toBeGreaterThan(2);
    for (const frame of screen.frames) expect(frame.length).toBeLessThanOrEqual(ROWS - 1);
    expect(screen.widest).toBeLessThanOrEqual(COLUMNS);
    // The scrollback gets the start-up line, the stop notices and the last frame: not a flood.
    expect(screen.normalNewlines).toBeLessThanOrEqual(ROWS + 6);
    const last = screen.frames.at(-1)!;
    expect(last[0]).toContain('gatewatch watch: 50 targets');
    expect(last[1]).toMatch(/^TARGET\s+LAST PROBE/);
    expect(last.slice(2, 5).map((l) => l.split(/\s+/)[0])).toEqual(FAILING);
    const more = last.find((l) => /^\+\d+ more: /.test(l));
    expect(more).toMatch(/^\+\d+ more: \d+ healthy/);
    const shown = last.filter((l) => /^t-\d\d /.test(l)).length;
    expect(shown + Number(/^\+(\d+)/.exec(more!)![1])).toBe(50);
  }, 240_000);

  it('piped prints one line per change and never redraws', async () => {
    const config = await fiftyTargets();
    const run = startGatewatch(['watch', '--config', config, '--state', join(work, 'log-state.json')]);
    await run.waitFor(/t-41: probe FAIL/, 120_000);
    // 50 first results, then several more seconds of unchanged results
    await run.waitFor(/(?:probe (?:ok|FAIL)[^\n]*\n[^\n]*){50}/, 120_000);
    await new Promise((r) => setTimeout(r, 4000));
    const { code } = await stopAndWait(run, run.child.pid!);
    expect(code).toBe(0);
    expect(run.stdout).not.toMatch(/\x1b/);
    expect(run.stdout).not.toContain('TARGET');
    const lines = run.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /);
    const probeLines = lines.filter((l) => / probe (ok|FAIL)/.test(l));
    // each target's first result is a change (from nothing); the results after it were unchanged
    expect(probeLines).toHaveLength(50);
    for (const name of FAILING)
      expect(probeLines.filter((l) => l.includes(` ${name}: probe FAIL`))).toHaveLength(1);
  }, 240_000);
});

describe('gatewatch watch --json', () => {
  it('writes one versioned JSON object per event: every probe, the changes, an incident opened, diagnosed with its report paths, and resolved', async () => {
    const port = await freePort();
    const jsonLab = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` });
    const label = `gatewatch-json-test-${process.pid}`;
    let app = await UpstreamProcess.start({ mode: 'ok', port, label });
    const config = join(work, 'json.yaml');
    await writeFile(
      config,
      stringify({
        targets: [
          {
            name: 'shop',
            probe: { url: `http://127.0.0.1:${jsonLab.port}/`, intervalSeconds: 1 },
            nginx: {
              errorLog: jsonLab.errorLog,
              accessLog: jsonLab.accessLog,
              conf: jsonLab.confPath,
              prefix: jsonLab.prefix,
              binary: jsonLab.binary,
            },
            upstreams: [{ address: `127.0.0.1:${port}`, service: { process: label } }],
          },
        ],
        reports: { dir: join(work, 'json-incidents') },
      }),
    );
    const run = startGatewatch(['watch', '--json', '--config', config, '--cooldown', '0']);
    try {
      await run.waitFor(/"type":"probe-changed"[^\n]*"ok":true/, 120_000);
      await app.kill();
      await run.waitFor(/"type":"incident-diagnosed"/, 180_000);
      app = await UpstreamProcess.start({ mode: 'ok', port, label });
      await run.waitFor(/"type":"incident-resolved"/, 180_000);
      const { code } = await stopAndWait(run, run.child.pid!);
      expect(code).toBe(0);
    } finally {
      await app.kill();
      await jsonLab.stop();
    }
    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string });
    for (const event of events) {
      expect(event.v).toBe(1);
      expect(event.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('started');
    expect(types.at(-1)).toBe('stopped');
    expect(types.filter((t) => t === 'probe').length).toBeGreaterThan(
      types.filter((t) => t === 'probe-changed').length,
    );
    const failed = events.find((e) => e.type === 'probe-changed' && e.ok === false)!;
    expect(failed).toMatchObject({ target: 'shop', ok: false, failure: { kind: expect.any(String) } });
    expect(events.find((e) => e.type === 'alarm' && e.to === 'ALARM')).toMatchObject({
      target: 'shop',
      alarmId: 'shop-probe-failed',
    });
    const opened = events.find((e) => e.type === 'incident-opened') as unknown as {
      incident: Record<string, unknown>;
    };
    expect(opened.incident).toMatchObject({ target: 'shop', verdict: null, report: null, resolvedAt: null });
    const diagnosed = events.find((e) => e.type === 'incident-diagnosed') as unknown as {
      incident: {
        verdict: { rootCause: string };
        report: { json: string; md: string; html: string };
        key: string;
      };
    };
    expect(diagnosed.incident.verdict.rootCause).toBe('upstream-down');
    for (const path of Object.values(diagnosed.incident.report)) await stat(path);
    const resolved = events.find((e) => e.type === 'incident-resolved') as unknown as {
      incident: { key: string; resolvedAt: string; durationSeconds: number; report: { json: string } };
    };
    expect(resolved.incident.key).toBe(diagnosed.incident.key);
    expect(resolved.incident.durationSeconds).toBeGreaterThan(0);
    expect(resolved.incident.report.json).toBe(diagnosed.incident.report.json);
    // the human notices stay on stderr
    expect(run.stderr).toContain('Ctrl-C stops');
  }, 300_000);
});

// util-linux `script` provides the pseudo-terminal above; say so plainly where it is missing.
execFileSync('script', ['--version']);
