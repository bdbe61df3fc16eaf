/**
 * One gatewatch Lambda: a handler module of `lambdas/handlers/` bundled by the local esbuild (no Docker,
 * works offline), Node.js 24 on arm64, X-Ray tracing, its own log group with a retention, and a role
 * that starts with nothing but writing to that log group. Everything else is granted by the construct
 * that owns the resource, together with the environment variable that names it.
 */
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { REPO_ROOT, repoPath } from '../paths.ts';
import { LAMBDA_ENV } from '../workflow/lambda-wiring.ts';

/** Thrown at synth time for props that cannot make a working function. */
export class GatewatchFunctionPropsError extends Error {
  override name = 'GatewatchFunctionPropsError';
}

/**
 * Largest configuration passed as an environment variable. Lambda allows 4 KB for all variables
 * together; above this the configuration is compiled into the bundle instead (same variable name, see
 * `lambdas/handlers/wiring/config.ts`), which has no size limit but makes every configuration change a
 * code change.
 */
export const MAX_CONFIG_ENV_BYTES = 2048;

/** How the configuration reaches a function. */
export type ConfigDelivery = 'environment' | 'bundled';

export interface GatewatchFunctionProps {
  /** Handler module, relative to `lambdas/handlers/` (e.g. `notify.ts`); it exports `handler`. */
  readonly handlerModule: string;
  /** Shown in the Lambda console. */
  readonly description: string;
  /** Lambda timeout; keep it below the Step Functions Task timeout so the Task sees the Lambda's error. */
  readonly timeout: Duration;
  /**
   * Memory in MB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /** The validated configuration, delivered to the function as `GATEWATCH_CONFIG`. */
  readonly config: GatewatchConfig;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where asynchronous invocations go after their retries fail.
   * @default - none (synchronous functions, invoked by Step Functions)
   */
  readonly onFailure?: lambda.IDestination;
  /**
   * Retries of asynchronous invocations.
   * @default 2
   */
  readonly retryAttempts?: number;
}

export class GatewatchFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** `environment` for a configuration up to {@link MAX_CONFIG_ENV_BYTES}, `bundled` above. */
  public readonly configDelivery: ConfigDelivery;

  constructor(scope: Construct, id: string, props: GatewatchFunctionProps) {
    super(scope, id);
    if (!/^[a-z0-9-]+\.ts$/.test(props.handlerModule)) {
      throw new GatewatchFunctionPropsError(
        `handlerModule "${props.handlerModule}" must be a file name like notify.ts in lambdas/handlers/`,
      );
    }
    const configJson = JSON.stringify(props.config);
    this.configDelivery = Buffer.byteLength(configJson) <= MAX_CONFIG_ENV_BYTES ? 'environment' : 'bundled';

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (gatewatch)`,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: repoPath(`lambdas/handlers/${props.handlerModule}`),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      projectRoot: REPO_ROOT,
      depsLockFilePath: repoPath('package-lock.json'),
      environment: {
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(this.configDelivery === 'environment' ? { [LAMBDA_ENV.config]: configJson } : {}),
      },
      ...(props.onFailure ? { onFailure: props.onFailure, retryAttempts: props.retryAttempts ?? 2 } : {}),
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        minify: true,
        keepNames: true,
        sourceMap: false,
        // The SDK is bundled, not taken from the runtime: the version the tests ran against is the one deployed.
        externalModules: [],
        tsconfig: repoPath('tsconfig.json'),
        // A few CommonJS dependencies call require(); ESM bundles need it provided.
        banner:
          "import { createRequire as gwCreateRequire } from 'node:module'; const require = gwCreateRequire(import.meta.url);",
        define:
          this.configDelivery === 'bundled'
            ? { [`process.env.${LAMBDA_ENV.config}`]: JSON.stringify(configJson) }
            : {},
      },
    });
    // The log group is created by the stack, so the role needs no logs:CreateLogGroup.
    this.logGroup.grantWrite(this.role);
  }
}
