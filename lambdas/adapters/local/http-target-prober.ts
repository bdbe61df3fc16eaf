/**
 * `TargetProber` over HTTP/TCP: one run of the target's configured probe, summed up in one line. The HTTP
 * prober's module is loaded with the first probe, so a diagnosis that never verifies a repair does not pay
 * for it (issue 9: start-up time).
 */
import type { TargetConfig } from '../../core/config.ts';
import type { TargetProber } from '../../ports.ts';

export class HttpTargetProber implements TargetProber {
  readonly #mode: 'local' | 'aws';

  constructor(mode: 'local' | 'aws' = 'local') {
    this.#mode = mode;
  }

  async probe(target: TargetConfig): Promise<{ ok: boolean; line: string } | undefined> {
    if (target.probe === undefined) return undefined;
    const { runProbe } = await import('./http-prober.ts');
    const result = await runProbe({ name: target.name, probe: target.probe }, { mode: this.#mode });
    const latency = `${Math.round(result.phases.total)} ms`;
    if (result.ok) return { ok: true, line: `${result.status ?? 'connected'} in ${latency}` };
    const why = result.failure
      ? `${result.failure.kind}${result.failure.message ? `: ${result.failure.message}` : ''}`
      : 'assertion failed';
    return {
      ok: false,
      line: `${result.status === undefined ? '' : `${result.status}, `}${why} (${latency})`.slice(0, 300),
    };
  }
}
