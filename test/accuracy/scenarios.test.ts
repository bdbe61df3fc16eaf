// The accuracy scenarios as tests: real nginx, real upstream processes, a real fault, one diagnosis through
// the workflow entry the CLI uses, and the verdict compared with the label set by construction.
// Scenarios today's gatewatch gets wrong are listed as todo with the reason (scenarios.ts `why`);
// `npm run accuracy` scores all of them. Flip `expected` in scenarios.ts when a scenario comes right.
import { describe, expect, it } from 'vitest';
import { runScenario } from './harness.ts';
import { machineAllows, SCENARIOS } from './scenarios.ts';

const allowed = await machineAllows();

describe('accuracy scenarios: the verdict names the fault that was made', () => {
  for (const [index, scenario] of SCENARIOS.entries()) {
    const missing = (scenario.needs ?? []).filter((need) => !allowed.has(need));
    if (!scenario.expected) {
      it.todo(`${scenario.name}: known wrong today (${scenario.why ?? 'no reason given'})`);
      continue;
    }
    it.skipIf(missing.length > 0)(
      `${scenario.name}${scenario.noise ? ` (noise: ${scenario.noise})` : ''}${missing.length > 0 ? ` (skipped: this machine lacks ${missing.join(', ')})` : ''}`,
      async () => {
        const outcome = await runScenario(scenario, 'workflow', index);

        expect(outcome.error).toBeUndefined();
        expect(outcome.rootCause).toBe(outcome.label.rootCause);
        if (outcome.label.upstream !== undefined) expect(outcome.upstream).toBe(outcome.label.upstream);
        // The evidence bundle replays offline to the same report.json, byte for byte.
        expect(outcome.replay).toMatchObject({ matches: true, verdictMatches: true });
      },
      240_000,
    );
  }
});
