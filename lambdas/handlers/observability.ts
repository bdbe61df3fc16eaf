/**
 * The middleware every gatewatch Lambda runs under: Powertools structured logging with the Lambda
 * context, and EMF metrics (cold starts included) flushed after each invocation. Handlers compose it
 * first and put their own function last.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

/** CloudWatch namespace of gatewatch's own metrics. */
export const METRICS_NAMESPACE = 'Gatewatch';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

/** `fn` wrapped in middy with logging and metrics; typed errors pass through untouched. */
export function observed<TEvent, TResult>(
  observability: Observability,
  fn: (event: TEvent, context: Context) => Promise<TResult>,
): middy.MiddyfiedHandler<TEvent, TResult> {
  return middy<TEvent, TResult>(fn)
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(logMetrics(observability.metrics, { captureColdStartMetric: true }));
}
