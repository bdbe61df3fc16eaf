/**
 * What stands between the bundled gatewatch Lambdas and moto_server in the end-to-end test, all on
 * 127.0.0.1:
 *
 * - {@link LambdaFleet}: one Node.js process per deployed function (`lambda-runtime.mjs`), its code the
 *   cdk.out asset folder, its environment the template's variables plus what Lambda itself sets, and its
 *   AWS endpoint (`AWS_ENDPOINT_URL`) its own recording proxy;
 * - {@link LambdaService}: the Lambda Invoke API (`POST /2015-03-31/functions/<name or ARN>/invocations`),
 *   so that aws-local-stepfunctions invokes each Task's `Resource` ARN with its own Lambda client, as
 *   Step Functions does;
 * - {@link AwsWire}: per-function proxies that record every AWS request (service, operation, input — the
 *   calls the IAM simulation evaluates) and forward it to moto, except SSM Run Command, which goes to
 *   {@link FakeSsmAgent};
 * - {@link FakeSsmAgent}: moto records a SendCommand but runs nothing, and its GetCommandInvocation
 *   answers Success with empty output. The agent here takes the command to moto first (moto assigns
 *   the id and keeps it for ListCommands), then does what the SSM agent on the instance does: reads the
 *   document from moto, checks the parameters against it, runs its `aws:runShellScript` lines with `sh`
 *   and each ENV_VAR parameter exported as `SSM_<name>`, uploads stdout/stderr to the command's S3
 *   output prefix in moto, and answers GetCommandInvocation as SSM does (unknown at first, InProgress,
 *   then Success/Failed with output cut at 24,000/8,000 characters). The script runs on this machine.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetDocumentCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { SdkCall } from '../../infra/sdk-calls.ts';
import type { BundledFunction } from './bundled-stack.ts';

const RUNTIME = fileURLToPath(new URL('./lambda-runtime.mjs', import.meta.url));

/** The SDK client names `sdk-calls.ts` uses, by SigV4 service name. */
const CLIENT_OF_SERVICE: Record<string, string> = {
  s3: 's3',
  sns: 'sns',
  ec2: 'ec2',
  ssm: 'ssm',
  logs: 'logs',
  states: 'sfn',
  sqs: 'sqs',
};

interface RawRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request a test helper cannot read as an AWS call. */
export class UnreadableAwsRequestError extends Error {
  override name = 'UnreadableAwsRequestError';
}

/** The AWS operation an HTTP request is: client, command and input as the SDK call had them. */
export function readAwsRequest(request: RawRequest): SdkCall {
  const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
    String(request.headers.authorization ?? ''),
  )?.[1];
  const client = service === undefined ? undefined : CLIENT_OF_SERVICE[service];
  if (!client) throw new UnreadableAwsRequestError(`unsigned or unknown service: ${request.url}`);
  const text = request.body.toString('utf8');
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string') {
    return { client, command: target.split('.').pop()!, input: text ? JSON.parse(text) : {} };
  }
  if (String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    const params = Object.fromEntries(new URLSearchParams(text));
    return { client, command: String(params.Action), input: params };
  }
  if (client === 's3') {
    const url = new URL(request.url, 'http://moto');
    const [bucket, ...rest] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const h = request.headers;
    const command =
      url.searchParams.get('x-id') ??
      (key === ''
        ? url.searchParams.get('list-type') === '2'
          ? 'ListObjectsV2'
          : `${request.method}Bucket`
        : { GET: 'GetObject', PUT: 'PutObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[request.method]);
    const input: Record<string, unknown> = { Bucket: decodeURIComponent(bucket ?? '') };
    if (key !== '') input.Key = key;
    if (h['if-none-match']) input.IfNoneMatch = h['if-none-match'];
    if (h['if-match']) input.IfMatch = h['if-match'];
    if (h['x-amz-acl']) input.ACL = h['x-amz-acl'];
    if (url.searchParams.has('prefix')) input.Prefix = url.searchParams.get('prefix');
    return { client, command: String(command), input };
  }
  throw new UnreadableAwsRequestError(`cannot read ${client} request ${request.method} ${request.url}`);
}

async function readBody(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Sends a request on to `endpoint` unchanged (but for Host) and returns moto's answer. */
function forward(endpoint: string, request: RawRequest): Promise<RawResponse> {
  const target = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: target.host },
      },
      async (response) => {
        try {
          resolve({
            status: response.statusCode ?? 502,
            headers: response.headers,
            body: await readBody(response),
          });
        } catch (error) {
          reject(error);
        }
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function jsonError(status: number, type: string, message: string): RawResponse {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
    body: Buffer.from(JSON.stringify({ __type: type, message })),
  };
}

function jsonOk(value: unknown): RawResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.1' },
    body: Buffer.from(JSON.stringify(value)),
  };
}

// ------------------------------------------------------------------------------------------ the wire

/** One recording proxy per function in front of moto; SSM Run Command goes to the fake agent. */
export class AwsWire {
  readonly #moto: string;
  readonly #agent: FakeSsmAgent;
  readonly #servers: Server[] = [];
  /** Every AWS call each function made, by function logical id, in order. */
  readonly calls = new Map<string, SdkCall[]>();
  /** Requests no test helper could read (should stay empty). */
  readonly unreadable: string[] = [];

  constructor(motoEndpoint: string, agent: FakeSsmAgent) {
    this.#moto = motoEndpoint;
    this.#agent = agent;
  }

  /** A new endpoint whose requests are recorded as `functionId`'s. */
  async endpointFor(functionId: string): Promise<string> {
    const server = createServer(async (incoming, outgoing) => {
      try {
        const request: RawRequest = {
          method: incoming.method ?? 'GET',
          url: incoming.url ?? '/',
          headers: incoming.headers,
          body: await readBody(incoming),
        };
        let call: SdkCall | undefined;
        try {
          call = readAwsRequest(request);
          this.calls.set(functionId, [...(this.calls.get(functionId) ?? []), call]);
        } catch (error) {
          this.unreadable.push(`${functionId}: ${(error as Error).message}`);
        }
        const response =
          call?.client === 'ssm' && FakeSsmAgent.handles(call.command)
            ? await this.#agent.handle(call, () => forward(this.#moto, request))
            : await forward(this.#moto, request);
        outgoing.writeHead(response.status, response.headers as Record<string, string>);
        outgoing.end(response.body);
      } catch (error) {
        outgoing.writeHead(500, { 'content-type': 'text/plain' });
        outgoing.end(String(error));
      }
    });
    this.#servers.push(server);
    return listen(server);
  }

  async close(): Promise<void> {
    await Promise.all(this.#servers.splice(0).map(close));
  }
}

// ------------------------------------------------------------------------------------ the SSM agent

interface DocumentParameter {
  type: string;
  default?: string;
  allowedPattern?: string;
  allowedValues?: string[];
  interpolationType?: string;
}

interface AgentRun {
  commandId: string;
  instanceId: string;
  documentName: string;
  started: Date;
  ended?: Date;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  done: Promise<void>;
}

/** SSM's inline output limits (GetCommandInvocation). */
const INLINE_STDOUT = 24_000;
const INLINE_STDERR = 8_000;

/** What the SSM agent on a managed instance does with gatewatch's command; see the file comment. */
export class FakeSsmAgent {
  readonly runs: AgentRun[] = [];
  readonly #ssm: SSMClient;
  readonly #s3: S3Client;
  readonly #ec2: EC2Client;
  readonly #instanceTag: { key: string; value: string };

  constructor(
    clients: { ssm: SSMClient; s3: S3Client; ec2: EC2Client },
    instanceTag: { key: string; value: string },
  ) {
    this.#ssm = clients.ssm;
    this.#s3 = clients.s3;
    this.#ec2 = clients.ec2;
    this.#instanceTag = instanceTag;
  }

  static handles(command: string): boolean {
    return command === 'SendCommand' || command === 'GetCommandInvocation';
  }

  async handle(call: SdkCall, toMoto: () => Promise<RawResponse>): Promise<RawResponse> {
    return call.command === 'SendCommand' ? this.#send(call.input, toMoto) : this.#invocation(call.input);
  }

  async #send(input: Record<string, unknown>, toMoto: () => Promise<RawResponse>): Promise<RawResponse> {
    const instanceIds = (input.InstanceIds as string[] | undefined) ?? [];
    for (const id of instanceIds) {
      // Only a running, tagged instance registered with SSM takes the command (the role's condition).
      const found = await this.#ec2
        .send(new DescribeInstancesCommand({ InstanceIds: [id] }))
        .catch(() => undefined);
      const instance = found?.Reservations?.[0]?.Instances?.[0];
      const tagged = instance?.Tags?.some(
        (t) => t.Key === this.#instanceTag.key && t.Value === this.#instanceTag.value,
      );
      if (!instance || !tagged) {
        return jsonError(400, 'InvalidInstanceId', `Instances [[${id}]] not in a valid state for account`);
      }
    }
    const documentName = String(input.DocumentName);
    const document = await this.#ssm
      .send(new GetDocumentCommand({ Name: documentName }))
      .catch(() => undefined);
    if (!document?.Content)
      return jsonError(400, 'InvalidDocument', `document ${documentName} does not exist`);
    const content = JSON.parse(document.Content) as {
      parameters: Record<string, DocumentParameter>;
      mainSteps: { action: string; name: string; inputs: { runCommand: string[] } }[];
    };
    const given = (input.Parameters ?? {}) as Record<string, string[]>;
    const values: Record<string, string> = {};
    for (const [name, definition] of Object.entries(content.parameters)) {
      const value = given[name]?.[0] ?? definition.default ?? '';
      if (definition.allowedPattern && !new RegExp(definition.allowedPattern).test(value)) {
        return jsonError(400, 'InvalidParameters', `${name} fails its allowedPattern`);
      }
      if (definition.allowedValues && !definition.allowedValues.includes(value)) {
        return jsonError(400, 'InvalidParameters', `${name} is not one of its allowedValues`);
      }
      values[name] = value;
    }
    const unknown = Object.keys(given).filter((name) => !(name in content.parameters));
    if (unknown.length > 0) return jsonError(400, 'InvalidParameters', `unknown: ${unknown.join(', ')}`);

    const answer = await toMoto();
    if (answer.status !== 200) return answer;
    const commandId = (JSON.parse(answer.body.toString('utf8')) as { Command: { CommandId: string } }).Command
      .CommandId;
    const step = content.mainSteps[0]!;
    for (const instanceId of instanceIds) {
      const run: AgentRun = {
        commandId,
        instanceId,
        documentName,
        started: new Date(),
        done: Promise.resolve(),
      };
      run.done = this.#execute(run, step, content.parameters, values, input).catch((error) => {
        run.exitCode = 1;
        run.stderr = `agent failure: ${String(error)}`;
        run.ended = new Date();
      });
      this.runs.push(run);
    }
    return answer;
  }

  /** Runs the step's lines as the agent does (`sh _script.sh`), then uploads the output to S3. */
  async #execute(
    run: AgentRun,
    step: { name: string; inputs: { runCommand: string[] } },
    parameters: Record<string, DocumentParameter>,
    values: Record<string, string>,
    input: Record<string, unknown>,
  ): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'gatewatch-e2e-ssm-'));
    try {
      const script = join(dir, '_script.sh');
      writeFileSync(script, `${step.inputs.runCommand.join('\n')}\n`, { mode: 0o700 });
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      for (const [name, definition] of Object.entries(parameters)) {
        if (definition.interpolationType === 'ENV_VAR') env[`SSM_${name}`] = values[name] ?? '';
      }
      const timeoutSeconds = Number(values.executionTimeout ?? 3600);
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('sh', [script], {
          cwd: dir,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
        });
        const timer = setTimeout(() => {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        }, timeoutSeconds * 1000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? 1, stdout, stderr });
        });
      });
      const bucket = input.OutputS3BucketName as string | undefined;
      if (bucket) {
        const prefix = `${String(input.OutputS3KeyPrefix ?? '').replace(/\/$/, '')}/${run.commandId}/${run.instanceId}/awsrunShellScript/${step.name}`;
        for (const [stream, body] of [
          ['stdout', result.stdout],
          ['stderr', result.stderr],
        ] as const) {
          if (body === '') continue;
          await this.#s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `${prefix.replace(/^\//, '')}/${stream}`,
              Body: body,
              ACL: 'bucket-owner-full-control',
            }),
          );
        }
      }
      run.stdout = result.stdout;
      run.stderr = result.stderr;
      run.exitCode = result.code;
      run.ended = new Date();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  #invocation(input: Record<string, unknown>): RawResponse {
    const run = this.runs.find((r) => r.commandId === input.CommandId && r.instanceId === input.InstanceId);
    if (!run) return jsonError(400, 'InvocationDoesNotExist', '');
    const base = {
      CommandId: run.commandId,
      InstanceId: run.instanceId,
      DocumentName: run.documentName,
      PluginName: 'runDiagnostics',
      ExecutionStartDateTime: run.started.toISOString(),
    };
    if (run.ended === undefined) {
      return jsonOk({ ...base, Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1 });
    }
    const status = run.exitCode === 0 ? 'Success' : 'Failed';
    return jsonOk({
      ...base,
      Status: status,
      StatusDetails: status,
      ResponseCode: run.exitCode,
      ExecutionEndDateTime: run.ended.toISOString(),
      StandardOutputContent: (run.stdout ?? '').slice(0, INLINE_STDOUT),
      StandardErrorContent: (run.stderr ?? '').slice(0, INLINE_STDERR),
    });
  }

  /** Waits for every command's script to end. */
  async settled(): Promise<void> {
    await Promise.all(this.runs.map((r) => r.done));
  }
}

// ------------------------------------------------------------------------------------ the Lambdas

interface Running {
  fn: BundledFunction;
  child: ChildProcess;
  output: string;
  invocations: number;
}

export interface InvocationOutcome {
  result?: unknown;
  error?: { errorType: string; errorMessage: string };
}

/** Thrown when a bundle does not load (Lambda's init phase failed). */
export class LambdaInitError extends Error {
  override name = 'LambdaInitError';
}

/** One process per bundled function, each with exactly its deployed environment plus its endpoint. */
export class LambdaFleet {
  readonly #running = new Map<string, Running>();
  #next = 0;
  readonly #pending = new Map<number, (outcome: InvocationOutcome) => void>();

  /**
   * Starts `functions`: `runtimeEnv(fn)` gives what Lambda itself sets (region, credentials, name…) and
   * the AWS endpoint; the template's variables are laid over nothing else.
   */
  static async start(
    functions: BundledFunction[],
    runtimeEnv: (fn: BundledFunction) => Promise<Record<string, string>>,
  ): Promise<LambdaFleet> {
    const fleet = new LambdaFleet();
    await Promise.all(functions.map(async (fn) => fleet.#spawn(fn, await runtimeEnv(fn))));
    return fleet;
  }

  async #spawn(fn: BundledFunction, runtime: Record<string, string>): Promise<void> {
    const child = fork(RUNTIME, [fn.assetDir, fn.handler, String(fn.timeoutSeconds), fn.arn], {
      execPath: process.execPath,
      execArgv: [],
      env: { ...runtime, ...fn.environment },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const running: Running = { fn, child, output: '', invocations: 0 };
    const keep = (chunk: Buffer) => {
      running.output = (running.output + chunk.toString()).slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#running.set(fn.logicalId, running);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type: string; id?: number } & Record<string, unknown>) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'init-error')
          reject(
            new LambdaInitError(
              `${fn.logicalId}: ${String(message.errorType)}: ${String(message.errorMessage)}`,
            ),
          );
        else if (message.id !== undefined) {
          const settle = this.#pending.get(message.id);
          this.#pending.delete(message.id);
          settle?.(
            message.type === 'result'
              ? { result: message.result }
              : {
                  error: { errorType: String(message.errorType), errorMessage: String(message.errorMessage) },
                },
          );
        }
      });
      child.once('exit', (code) =>
        reject(
          new LambdaInitError(`${fn.logicalId} exited (${code}) during init: ${running.output.slice(-2000)}`),
        ),
      );
    });
  }

  /** The function a name or ARN (as Lambda's Invoke API accepts) designates. */
  find(nameOrArn: string): BundledFunction | undefined {
    for (const { fn } of this.#running.values()) {
      if (fn.name === nameOrArn || fn.arn === nameOrArn) return fn;
    }
    return undefined;
  }

  invoke(fn: BundledFunction, event: unknown): Promise<InvocationOutcome> {
    const running = this.#running.get(fn.logicalId);
    if (!running) throw new Error(`${fn.logicalId} is not running`);
    running.invocations++;
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      running.child.send({ type: 'invoke', id, event });
    });
  }

  /** Invocations per function logical id. */
  invocations(): Record<string, number> {
    return Object.fromEntries([...this.#running].map(([id, r]) => [id, r.invocations]));
  }

  /** What a function wrote to stdout/stderr (its CloudWatch log), for failure messages. */
  output(logicalId: string): string {
    return this.#running.get(logicalId)?.output ?? '';
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.#running.values()].map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    this.#running.clear();
  }
}

/** Lambda's Invoke API in front of a fleet: what a Task state's `Resource` ARN reaches. */
export class LambdaService {
  readonly #server: Server;
  /** Function logical ids in the order they were invoked through this API. */
  readonly invoked: string[] = [];
  /** Each invocation's payload sizes (bytes of JSON): what Step Functions passes in and gets back. */
  readonly payloads: { functionId: string; requestBytes: number; responseBytes: number }[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(fleet: LambdaFleet): Promise<{ service: LambdaService; endpoint: string }> {
    let service: LambdaService | undefined;
    const server = createServer(async (incoming, outgoing) => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(incoming.url ?? '');
      const body = await readBody(incoming);
      const fn = match ? fleet.find(decodeURIComponent(match[1]!)) : undefined;
      if (!fn) {
        outgoing.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ResourceNotFoundException',
        });
        outgoing.end(
          JSON.stringify({ Type: 'User', message: `Function not found: ${match?.[1] ?? incoming.url}` }),
        );
        return;
      }
      service?.invoked.push(fn.logicalId);
      const outcome = await fleet.invoke(fn, body.length > 0 ? JSON.parse(body.toString('utf8')) : {});
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-amz-executed-version': '$LATEST',
        'x-amzn-requestid': randomUUID(),
      };
      if (outcome.error) headers['x-amz-function-error'] = 'Unhandled';
      const answer = JSON.stringify(outcome.error ?? outcome.result ?? null);
      service?.payloads.push({
        functionId: fn.logicalId,
        requestBytes: body.length,
        responseBytes: Buffer.byteLength(answer),
      });
      outgoing.writeHead(200, headers);
      outgoing.end(answer);
    });
    service = new LambdaService(server);
    return { service, endpoint: await listen(server) };
  }

  close(): Promise<void> {
    return close(this.#server);
  }
}
