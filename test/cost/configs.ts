/**
 * Configurations of 1, 50 and 500 targets for the cost table and the scale tests: long names
 * (29 characters), two upstreams each, a probe, both log groups and the default alarm settings — the
 * example target, repeated.
 */
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { exampleConfig } from '../infra/synth.ts';

/** `checkout-eu-west-frontend-0042`: 30 characters, like the review's 50-target measurement. */
export function targetName(i: number): string {
  return `checkout-eu-west-frontend-${String(i).padStart(4, '0')}`;
}

export function scaledConfig(count: number): GatewatchConfig {
  const base = exampleConfig();
  const template = base.targets[0]!;
  const targets = Array.from({ length: count }, (_, i) => {
    const name = targetName(i);
    return {
      ...structuredClone(template),
      name,
      probe: { ...structuredClone(template.probe!), url: `https://${name}.example.com/healthz` },
      upstreams: [
        { address: `10.0.${Math.floor(i / 200)}.${(i % 200) + 10}:3000` },
        { address: `10.1.${Math.floor(i / 200)}.${(i % 200) + 10}:3000` },
      ],
      aws: {
        instanceId: `i-${(0x1000000000 + i).toString(16).padStart(17, '0')}`,
        logGroups: { error: `/gatewatch/${name}/nginx-error`, access: `/gatewatch/${name}/nginx-access` },
      },
    };
  });
  return { ...base, targets } as GatewatchConfig;
}
