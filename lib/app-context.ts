/**
 * The CDK app's `gatewatch:*` context, read the way the CDK CLI hands it over: `-c key=value` arrives
 * as a string, cdk.json's `context` and CDK_CONTEXT_JSON can hold JSON values. Anything unusable is a
 * {@link ConfigError} that says what to write instead (the app exits 2 with it).
 */
import { ConfigError } from '../lambdas/core/config.ts';

export type ContextReader = (key: string) => unknown;

const OPT_IN_EXAMPLE = `-c 'gatewatch:optInAlarms={"shop-api-5xx":"shop"}'`;

/**
 * `gatewatch:optInAlarms`: users' alarm names → target names, as an object (cdk.json) or as that
 * object's JSON text (`-c`). Absent → `{}`.
 */
export function optInAlarmsFromContext(value: unknown): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new ConfigError(
        'gatewatch:optInAlarms',
        [
          `is not JSON (${(error as Error).message}): write an object of alarm name → target name, e.g. ${OPT_IN_EXAMPLE}`,
        ],
        { cause: error },
      );
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('gatewatch:optInAlarms', [
      `must be an object of alarm name → target name, e.g. ${OPT_IN_EXAMPLE}`,
    ]);
  }
  const problems: string[] = [];
  const result: Record<string, string> = {};
  for (const [alarm, target] of Object.entries(parsed)) {
    if (typeof target !== 'string') {
      problems.push(`["${alarm}"]: must be a target name (a string), not ${JSON.stringify(target)}`);
    } else if (alarm.length === 0 || alarm.length > 255) {
      problems.push(`["${alarm}"]: CloudWatch alarm names are 1 to 255 characters`);
    } else {
      result[alarm] = target;
    }
  }
  if (problems.length > 0) throw new ConfigError('gatewatch:optInAlarms', problems);
  return result;
}

/** A string setting (`gatewatch:config`, `gatewatch:stackName`, …), or `fallback` when absent. */
export function stringFromContext(key: string, value: unknown, fallback: string): string {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'string') {
    throw new ConfigError(key, [`must be a string, e.g. -c ${key}=${fallback}`]);
  }
  return value;
}
