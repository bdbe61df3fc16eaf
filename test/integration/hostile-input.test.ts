// Secrets and script in what clients send reach nginx's logs verbatim; none of it may survive into
// anything gatewatch stores or prints: report.json, report.md, report.html and the evidence files.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseOnce } from '../../lambdas/local/diagnose.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';

const SECRET = 'S3cr3tT0k3nDoNotLeak';
const SCRIPT = '<script>alert(1)</script>';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('hostile client input, end to end through a real nginx', () => {
  let nginx: NginxLab;
  let dir: string;
  let stored: Map<string, string>;

  beforeAll(async () => {
    const port = await freePort();
    nginx = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` });
    const paths = [
      `/login?user=bob&password=${SECRET}`,
      `/api?access_token=${SECRET}&q=%3Cscript%3Ealert(1)%3C/script%3E`,
      `/cb?code=${SECRET}`,
    ];
    for (const path of paths) {
      await nginx.get(path, {
        'User-Agent': `${SCRIPT}"><img src=x onerror=alert(1)>`,
        Referer: `https://x/?token=${SECRET}`,
      });
    }
    const config = nginx.gatewatchConfig();
    const result = await diagnoseOnce({
      config,
      target: config.targets[0]!,
      from: new Date(Date.now() - 60_000),
      deps: { notify: 'silent' },
    });
    dir = result.dir;
    stored = new Map();
    for (const file of await filesUnder(dir)) stored.set(file, await readFile(file, 'utf8'));
  });

  afterAll(async () => {
    await nginx.stop();
  });

  it('logged the hostile input in the first place (the test bites)', async () => {
    const logs = (await readFile(nginx.errorLog, 'utf8')) + (await readFile(nginx.accessLog, 'utf8'));
    expect(logs).toContain(SECRET);
    expect(logs).toContain('<script>');
  });

  it('stores the report and its evidence', () => {
    const names = [...stored.keys()].map((f) => f.slice(dir.length + 1)).sort();
    expect(names).toEqual(
      expect.arrayContaining(['report.html', 'report.json', 'report.md', 'evidence/nginx.json']),
    );
  });

  it('keeps the secret out of every stored file', () => {
    for (const [file, text] of stored) expect(text, file).not.toContain(SECRET);
  });

  it('writes HTML with no script element and no event handler', () => {
    const html = stored.get(join(dir, 'report.html'))!;
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
    expect(html).toContain('Content-Security-Policy');
  });

  it('still quotes the failing requests, redacted', () => {
    const json = stored.get(join(dir, 'report.json'))!;
    expect(json).toContain('[REDACTED]');
    expect(JSON.parse(json).verdict.rootCause).toBe('upstream-down');
  });
});
