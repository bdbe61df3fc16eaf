/**
 * The synthetic probes in AWS: one Lambda, invoked every minute by an EventBridge schedule, probes every
 * target that has a `probe` in one invocation and publishes `ProbeFailed` as EMF, sparsely (failures and
 * the tail after them: `core/metrics/probe-publication.ts`). Its role writes its own logs and X-Ray
 * traces and may call `cloudwatch:GetMetricData` (to read back, in a new execution environment, which
 * targets are still owed datapoints; no resource-level permission exists for it), nothing else: probes
 * are plain outbound HTTP(S)/TCP, and EMF needs no cloudwatch:PutMetricData. The function runs outside any VPC, so
 * it reaches public endpoints only; private addresses are refused by the address policy anyway unless a
 * probe sets `allowPrivate` (and then the function would need a VPC to reach them).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { AWS_PROBE_CONCURRENCY, AWS_SCHEDULE_SECONDS } from '../workflow/lambda-wiring.ts';
import { GatewatchFunction } from './gatewatch-function.ts';

export class ProbeSchedulePropsError extends Error {
  override name = 'ProbeSchedulePropsError';
}

export interface ProbeScheduleProps {
  /** The validated configuration; at least one target has a `probe`. */
  readonly config: GatewatchConfig;
  /** Receives failed runs (and schedule events that could not be delivered). */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Memory in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Retention of the prober's own logs (which carry its EMF metrics).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Pause between attempts inside one probe run (the prober's default). */
const RETRY_DELAY_MS = 200;
/** Longest timeout: a run this long already overlaps four later runs, which is harmless but pointless. */
const MAX_TIMEOUT_SECONDS = 300;

/**
 * The longest a run can take: the probes go in waves of {@link AWS_PROBE_CONCURRENCY}, each probe at most
 * its attempts times its timeout plus the pauses between them, and a few seconds to start and publish.
 */
export function probeRunTimeout(config: GatewatchConfig): Duration {
  const probes = config.targets.flatMap((t) => (t.probe ? [t.probe] : []));
  const slowestMs = Math.max(
    0,
    ...probes.map((p) => p.timeoutMs * (p.retries + 1) + RETRY_DELAY_MS * p.retries),
  );
  const waves = Math.ceil(probes.length / AWS_PROBE_CONCURRENCY);
  const seconds = Math.ceil((waves * slowestMs) / 1000) + 10;
  return Duration.seconds(Math.min(MAX_TIMEOUT_SECONDS, seconds));
}

export class ProbeSchedule extends Construct {
  public readonly prober: GatewatchFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ProbeScheduleProps) {
    super(scope, id);
    if (!props.config.targets.some((t) => t.probe !== undefined)) {
      throw new ProbeSchedulePropsError('no target has a probe: there is nothing to schedule');
    }

    this.prober = new GatewatchFunction(this, 'Prober', {
      handlerModule: 'probe.ts',
      description: 'gatewatch: synthetic probes of every target, every minute (EMF metrics)',
      timeout: probeRunTimeout(props.config),
      memorySize: props.memorySize ?? 256,
      config: props.config,
      onFailure: new destinations.SqsDestination(props.deadLetterQueue),
      // A run retried minutes later measures nothing useful; the heartbeat alarm covers a failed run.
      retryAttempts: 0,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.prober.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadBackProbeFailed',
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
    );
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'gatewatch: probe every target every minute',
      schedule: events.Schedule.rate(Duration.seconds(AWS_SCHEDULE_SECONDS)),
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.prober.function, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 2,
        // Delivered later than this, the run would be another run's minute.
        maxEventAge: Duration.seconds(AWS_SCHEDULE_SECONDS),
      }),
    );

    Validations.of(this.prober.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to the on-failure destination (the stack dead-letter queue), which also records the error; a second DLQ would duplicate it.',
    });
    Validations.of(this.prober.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords and CloudWatch GetMetricData support no resource-level permissions.',
    });
  }
}
