// nginx and its upstream on two "hosts" (network namespaces joined by a veth pair), an iptables DROP on
// the upstream's port: nginx's connect times out, and the diagnosis — the diagnostics script really run on
// each host — must name the host firewall and quote the rule.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiagnosticsDispatcher } from '../../lambdas/adapters/local/local-diagnostics-dispatcher.ts';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { diagnoseOnce } from '../../lambdas/local/diagnose.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import type { CommandRunner, DiagnosticsRequest } from '../../lambdas/ports.ts';
import { createNamespacePair, type NamespacePair, NETNS_SKIP_REASON } from '../support/netns.ts';

const UPSTREAM_HOST = 'i-0b0b0b0b0b0b0b0b0';
const PORT = 8080;

/** Runs the diagnostics script inside the namespace that plays the requested host. */
class NamespaceCommandRunner implements CommandRunner {
  readonly #runners: Map<string, ShellCommandRunner>;

  constructor(runners: Map<string, ShellCommandRunner>) {
    this.#runners = runners;
  }

  runDiagnostics(request: DiagnosticsRequest) {
    const runner = this.#runners.get(request.host);
    if (!runner) throw new Error(`no namespace plays host ${request.host}`);
    return runner.runDiagnostics({ ...request, host: 'local' });
  }
}

describe.skipIf(NETNS_SKIP_REASON !== '')(
  `a host firewall between nginx and its upstream ${NETNS_SKIP_REASON}`,
  () => {
    let pair: NamespacePair;
    let work: string;
    let upstream: UpstreamProcess | undefined;
    let nginx: NginxLab | undefined;

    beforeAll(async () => {
      pair = await createNamespacePair(`gw-diag-${process.pid}`, 7);
      work = await mkdtemp(join(tmpdir(), 'gatewatch-netns-'));
      upstream = await UpstreamProcess.start({
        mode: 'ok',
        port: PORT,
        host: pair.upstreamIp,
        wrap: pair.prefix(pair.upstreamNs),
      });
      nginx = await NginxLab.start({
        server: `location / {\n    proxy_pass http://${pair.upstreamIp}:${PORT};\n    proxy_connect_timeout 1s;\n}`,
        wrap: pair.prefix(pair.nginxNs),
      });
    });

    afterAll(async () => {
      await upstream?.kill();
      await nginx?.stop();
      await pair?.destroy();
      if (work) await rm(work, { recursive: true, force: true });
    });

    async function wrapper(ns: string): Promise<string> {
      const path = join(work, `bash-in-${ns}`);
      await writeFile(path, `#!/bin/sh\nexec ip netns exec ${ns} bash "$@"\n`);
      await chmod(path, 0o755);
      return path;
    }

    it('names network-blocked-host-firewall and quotes the DROP rule on the upstream host', async () => {
      expect(await nginx!.get('/')).toBe(200);
      await pair.inNs(
        pair.upstreamNs,
        'iptables',
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        String(PORT),
        '-j',
        'DROP',
      );
      const from = new Date(Math.floor(Date.now() / 1000) * 1000);
      expect(await nginx!.get('/')).toBe(504);

      const dispatcher = new LocalDiagnosticsDispatcher(
        new NamespaceCommandRunner(
          new Map([
            ['local', new ShellCommandRunner({ bash: await wrapper(pair.nginxNs) })],
            [UPSTREAM_HOST, new ShellCommandRunner({ bash: await wrapper(pair.upstreamNs) })],
          ]),
        ),
      );
      const config = nginx!.gatewatchConfig(
        { upstreams: [{ address: `${pair.upstreamIp}:${PORT}`, host: UPSTREAM_HOST }] },
        join(work, 'incidents'),
      );
      const { report } = await diagnoseOnce({
        config,
        target: config.targets[0]!,
        from,
        deps: { notify: 'silent', dispatcher },
      });

      expect(report.verdict.rootCause).toBe('network-blocked-host-firewall');
      expect(report.verdict.upstream).toBe(`${pair.upstreamIp}:${PORT}`);
      const quoted = report.findings.flatMap((f) => f.evidence.map((e) => e.excerpt)).join('\n');
      expect(quoted).toContain(`--dport ${PORT} -j DROP`);
      expect(quoted).toMatch(/upstream timed out \(110: .*\) while connecting to upstream/);
      expect(report.nextSteps.join('\n')).toMatch(/iptables .*-D INPUT/);
      expect(report.ruledOut.join('\n')).toContain("nginx's host (local)");
    });
  },
);
