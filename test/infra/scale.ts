/**
 * Configurations of any size for the limit tests: N targets with names near the 63-character maximum,
 * two upstreams each, every log group under /gatewatch/, and opted-in alarms — most named under the
 * gatewatch- prefix (they need no entry in the alarm rule), ten outside it (they do).
 */
import { type GatewatchConfig, validateConfig } from '../../lambdas/core/config.ts';

/** Target names: 63 characters (the schema's maximum) with the index at the front, all distinct. */
export function scaleTargetName(index: number): string {
  const head = `t${String(index).padStart(4, '0')}-`;
  return `${head}${'storefront-checkout-api-eu-central-blue-green-canary-zone-'.repeat(2)}`
    .slice(0, 63)
    .replace(/-+$/, 'x');
}

/** A deterministic EC2 instance id for target `index`. */
function instanceId(index: number): string {
  return `i-0${index.toString(16).padStart(16, '0')}`;
}

/** The validated configuration of `count` targets, as `cdk deploy` would read it. */
export function scaleConfig(count: number): GatewatchConfig {
  const targets = Array.from({ length: count }, (_, i) => {
    const name = scaleTargetName(i);
    const octet = (n: number) => `10.${(i >> 8) & 255}.${i & 255}.${n}`;
    return {
      name,
      probe: {
        url: `https://${name}.shop.example.com/healthz`,
        intervalSeconds: 60,
        timeoutMs: 5000,
        expect: { status: [200], maxLatencyMs: 2000 },
      },
      nginx: {
        errorLog: '/var/log/nginx/error.log',
        accessLog: '/var/log/nginx/access.log',
        conf: '/etc/nginx/nginx.conf',
      },
      upstreams: [
        { address: `${octet(10)}:3000`, service: { systemd: 'shop-api.service' } },
        { address: `${octet(11)}:3001`, service: { docker: 'shop-worker' } },
      ],
      alarm: { failedProbes: { datapoints: 2, evaluationPeriods: 3 }, errorRate: { percent: 5, minutes: 5 } },
      aws: {
        instanceId: instanceId(i),
        logGroups: { error: `/gatewatch/${name}/nginx-error`, access: `/gatewatch/${name}/nginx-access` },
      },
    };
  });
  return validateConfig(
    {
      targets,
      reports: { dir: './incidents' },
      notify: { email: ['oncall@example.com', 'sre-team@example.com'] },
    },
    `scale-${count}`,
  );
}

/** Opted-in alarms for a scale configuration: one per target under the prefix, ten outside it. */
export function scaleOptInAlarms(config: GatewatchConfig): Record<string, string> {
  const alarms: Record<string, string> = {};
  config.targets.forEach((target, i) => {
    alarms[`gatewatch-${target.name}-slo-burn`] = target.name;
    if (i < 10) alarms[`ops-team-${target.name.slice(0, 40)}-5xx`] = target.name;
  });
  return alarms;
}
