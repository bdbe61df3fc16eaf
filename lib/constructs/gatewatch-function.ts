/**
 * One gatewatch Lambda: a handler module of `lambdas/handlers/` bundled by the local esbuild (no Docker,
 * works offline), Node.js 24 on arm64, X-Ray tracing, its own log group with a retention, and a role
 * that starts with nothing but writing to that log group. Everything else is granted by the construct
 * that owns the resource, together with the environment variable that names it.
 *
 * The configuration (and any other JSON document a function needs, like the starter's alarm routes)
 * travels as a file in the code package, read once at cold start: not in the environment (Lambda
 * allows 4 KB for all variables together) and not as an esbuild `--define` (one command-line argument
 * stops at 128 KiB on Linux: E2BIG at ~250 KB of configuration, 500 targets). The package's hash is
 * taken from the bundle output, so a configuration change is a code change CloudFormation deploys.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { REPO_ROOT, repoPath } from '../paths.ts';
import { BUNDLED_FILES, BUNDLED_FILES_DEFINE } from '../workflow/lambda-wiring.ts';

/** Thrown at synth time for props that cannot make a working function. */
export class GatewatchFunctionPropsError extends Error {
  override name = 'GatewatchFunctionPropsError';
}

/**
 * Where the JSON documents a function ships with are staged at synth time (one folder per content hash,
 * so equal documents are written once), for the bundling hook to copy into the code package.
 */
function stageDocument(name: string, text: string): string {
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 32);
  const dir = join(tmpdir(), 'gatewatch-bundled-files', digest);
  const path = join(dir, name);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    // Written under a temporary name and renamed: a concurrent synth never copies half a file.
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, text);
    renameSync(partial, path);
  }
  return path;
}

/** `cp SOURCE DEST` for a POSIX shell, each path single-quoted. */
function copyCommand(source: string, destination: string): string {
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  return `cp ${quote(source)} ${quote(destination)}`;
}

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
  /** The validated configuration, shipped in the code package as `gatewatch-config.json`. */
  readonly config: GatewatchConfig;
  /**
   * More JSON documents to ship in the code package, by file name (read with `bundledText`).
   * @default {}
   */
  readonly bundledDocuments?: Readonly<Record<string, unknown>>;
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
  /** The JSON documents in the code package, by file name, as shipped (the configuration included). */
  public readonly bundledDocuments: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: GatewatchFunctionProps) {
    super(scope, id);
    if (!/^[a-z0-9-]+\.ts$/.test(props.handlerModule)) {
      throw new GatewatchFunctionPropsError(
        `handlerModule "${props.handlerModule}" must be a file name like notify.ts in lambdas/handlers/`,
      );
    }
    const documents: Record<string, string> = { [BUNDLED_FILES.config]: JSON.stringify(props.config) };
    for (const [name, document] of Object.entries(props.bundledDocuments ?? {})) {
      if (!/^[a-z0-9-]+\.json$/.test(name) || name in documents) {
        throw new GatewatchFunctionPropsError(
          `bundled document "${name}" must be a new file name like gatewatch-extra.json`,
        );
      }
      documents[name] = JSON.stringify(document);
    }
    this.bundledDocuments = documents;
    const staged = Object.entries(documents).map(([name, text]) => ({
      name,
      path: stageDocument(name, text),
    }));

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
        // Only a short marker goes through esbuild's command line; the documents are files (see above).
        define: { [BUNDLED_FILES_DEFINE.expression]: JSON.stringify(BUNDLED_FILES_DEFINE.value) },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) =>
            staged.map(({ name, path }) => copyCommand(path, join(outputDir, name))),
        },
      },
    });
    // The log group is created by the stack, so the role needs no logs:CreateLogGroup.
    this.logGroup.grantWrite(this.role);
  }
}
