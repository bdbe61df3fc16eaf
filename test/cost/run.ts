/**
 * `npm run cost`: synthesizes the stack for 1, 50 and 500 targets (no bundling: counting needs no code)
 * and prints what each costs a month, counted from the template, next to CloudWatch Synthetics.
 */
import { synthesizeStack } from '../infra/synth.ts';
import { scaledConfig } from './configs.ts';
import {
  DEFAULT_ASSUMPTIONS,
  syntheticsCanaryMonth,
  type TemplateCost,
  templateCost,
} from './template-cost.ts';

const SIZES = [1, 50, 500];

function usd(value: number): string {
  return value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(3)}`;
}

export function costTable(costs: readonly { targets: number; cost: TemplateCost }[]): string {
  const header = `| Item | ${costs.map((c) => `${c.targets} target${c.targets === 1 ? '' : 's'}`).join(' | ')} |`;
  const rule = `|---|${costs.map(() => '---:').join('|')}|`;
  const items = costs[0]!.cost.lines.map((l) => l.item);
  const rows = items.map((item, i) => {
    const cells = costs.map((c) => {
      const line = c.cost.lines[i]!;
      return `${usd(line.monthly)} (${line.quantity.toLocaleString('en-US')} ${line.unit})`;
    });
    return `| ${item} | ${cells.join(' | ')} |`;
  });
  const total = `| **Total per month** | ${costs.map((c) => `**${usd(c.cost.total)}**`).join(' | ')} |`;
  const per = `| **Per target-month** | ${costs.map((c) => `**${usd(c.cost.total / c.targets)}**`).join(' | ')} |`;
  const synthetics = `| CloudWatch Synthetics, one 1-minute canary per target | ${costs
    .map((c) => usd(c.targets * syntheticsCanaryMonth()))
    .join(' | ')} |`;
  const counts = `| Template: resources / alarms / custom metrics (dense) | ${costs
    .map(
      (c) =>
        `${c.cost.counts.resources} / ${c.cost.counts.standardAlarms + c.cost.counts.metricsInsightsAlarms} / ${c.cost.counts.customMetricsDense}`,
    )
    .join(' | ')} |`;
  return [header, rule, ...rows, total, per, synthetics, counts].join('\n');
}

function main(): void {
  const costs = SIZES.map((targets) => {
    const { app, stack } = synthesizeStack({ config: scaledConfig(targets) });
    const template = app.synth().getStackArtifact(stack.artifactId).template as Parameters<
      typeof templateCost
    >[0];
    return { targets, cost: templateCost(template) };
  });
  process.stdout.write(`${costTable(costs)}\n\n`);
  process.stdout.write(
    `Synthetics: ${usd(syntheticsCanaryMonth())} per canary-month (43,200 runs x $0.0012). Assumptions: ${JSON.stringify(DEFAULT_ASSUMPTIONS)}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) main();
