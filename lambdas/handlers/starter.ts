/**
 * The starter Lambda, invoked asynchronously by the EventBridge alarm rule: validates the alarm
 * state-change event and starts one diagnosis per alarm episode. A re-delivered event (EventBridge
 * retries, Lambda's async retries) finds its execution name taken: handled, nothing new starts.
 * An event that is not an alarm state change throws, and Lambda's on-failure destination keeps it.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type AlarmRoutes, BUNDLED_FILES, LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import type { GatewatchConfig } from '../core/config.ts';
import type { WorkflowStarter } from '../ports.ts';
import { parseAlarmEvent, planEpisodeStart } from './alarm-episode.ts';
import { createObservability, observed } from './observability.ts';
import { bundledText } from './wiring/bundled-files.ts';
import { configFromEnvironment } from './wiring/config.ts';
import { type Environment, LambdaEnvironmentError, requireEnv } from './wiring/environment.ts';
import { workflowStarterFromEnvironment } from './wiring/workflow-starter.ts';

export type StarterResult =
  | { status: 'started' | 'already-started'; executionName: string; executionArn: string; incidentId: string }
  | { status: 'ignored'; reason: string };

interface StarterDeps {
  config: GatewatchConfig;
  routes: AlarmRoutes;
  starter: WorkflowStarter;
}

/**
 * Which alarm belongs to which target: shipped in the code package next to the configuration (it grows
 * with the targets and the opted-in alarm names, far past Lambda's 4 KB of environment); the unbundled
 * source (tests) reads `GATEWATCH_ALARM_ROUTES`.
 */
function alarmRoutes(env: Environment): AlarmRoutes {
  const text = bundledText(BUNDLED_FILES.alarmRoutes, () => requireEnv(env, LAMBDA_ENV.alarmRoutes));
  try {
    return JSON.parse(text ?? '') as AlarmRoutes;
  } catch (error) {
    throw new LambdaEnvironmentError(`the alarm routes are not JSON: redeploy the stack`, { cause: error });
  }
}

function starterDeps(env: Environment): StarterDeps {
  const routes = alarmRoutes(env);
  return { config: configFromEnvironment(env), routes, starter: workflowStarterFromEnvironment(env) };
}

const observability = createObservability('gatewatch-starter');
let deps: StarterDeps | undefined;

async function start(event: unknown): Promise<StarterResult> {
  deps ??= starterDeps(process.env);
  const plan = planEpisodeStart(parseAlarmEvent(event), deps.config, deps.routes);
  if (plan.kind === 'ignore') {
    observability.logger.warn('alarm event ignored', { reason: plan.reason });
    observability.metrics.addMetric('AlarmEventIgnored', MetricUnit.Count, 1);
    return { status: 'ignored', reason: plan.reason };
  }
  const outcome = await deps.starter.start({ name: plan.executionName, input: plan.input });
  observability.logger.info('diagnosis started', { ...outcome, executionName: plan.executionName });
  observability.metrics.addMetric(
    outcome.status === 'started' ? 'DiagnosisStarted' : 'DuplicateAlarmEvent',
    MetricUnit.Count,
    1,
  );
  return { ...outcome, executionName: plan.executionName, incidentId: plan.input.incidentId };
}

export const handler = observed(observability, async (event: unknown): Promise<StarterResult> => {
  try {
    return await start(event);
  } catch (error) {
    // Thrown on: Lambda retries, then the on-failure destination keeps the event.
    observability.metrics.addMetric('StarterFailed', MetricUnit.Count, 1);
    observability.logger.error('could not start a diagnosis for the event', error as Error);
    throw error;
  }
});
