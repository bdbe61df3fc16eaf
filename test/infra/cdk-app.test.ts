/**
 * The CDK app as `npx cdk synth` / `npx cdk deploy` run it: a child process, context from `-c` as the
 * CLI hands it over (strings), no credentials. 500 targets bundle for real — the case where handing the
 * configuration to esbuild as one --define argument failed with E2BIG — and the bundled starter, run
 * as Lambda would load it, routes an alarm of the 500th target from the routes in its own package.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../lib/paths.ts';
import { BUNDLED_FILES, LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import { scaleConfig, scaleOptInAlarms } from './scale.ts';

/** This process's environment without anything that could let the CLI reach AWS. */
function offlineEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^AWS_|^CDK_/.test(name)) env[name] = value;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

/** `npx cdk synth` in the repository, context from `-c` (strings, as the CLI hands them over). */
function cdkSynth(out: string, context: Record<string, string>, cwd = REPO_ROOT) {
  const args = ['synth', '--quiet', '--no-notices', '--output', out];
  for (const [key, value] of Object.entries(context)) args.push('-c', `${key}=${value}`);
  return spawnSync(join(REPO_ROOT, 'node_modules/.bin/cdk'), args, {
    cwd,
    env: { ...offlineEnvironment(), PATH: `${join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
    encoding: 'utf8',
    timeout: 900_000,
  });
}

/** The CDK app itself (`node bin/app.ts`, as cdk.json runs it), context as the CLI passes it. */
function cdkApp(out: string, context: Record<string, unknown>) {
  return spawnSync(join(REPO_ROOT, 'node_modules/.bin/node'), ['bin/app.ts'], {
    cwd: REPO_ROOT,
    env: { ...offlineEnvironment(), CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify(context) },
    encoding: 'utf8',
    timeout: 300_000,
  });
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
  >;
};

describe('npx cdk synth with context from -c', () => {
  const work = mkdtempSync(join(tmpdir(), 'gw-cdk-app-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('exits 2 and says how to write opted-in alarms when gatewatch:optInAlarms is not JSON', () => {
    const result = cdkApp(join(work, 'bad-json'), { 'gatewatch:optInAlarms': "{'shop-api-5xx': shop}" });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('gatewatch:optInAlarms');
    expect(result.stderr).toContain('is not JSON');
    expect(result.stderr).toContain(`'gatewatch:optInAlarms={"shop-api-5xx":"shop"}'`);
  }, 300_000);

  it('exits 2 naming an opted-in alarm routed to a target the configuration does not have', () => {
    const result = cdkApp(join(work, 'unknown'), { 'gatewatch:optInAlarms': '{"shop-api-5xx":"nope"}' });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('optInAlarms["shop-api-5xx"]: no target named "nope"');
  }, 300_000);

  it('takes opted-in alarms from -c as a JSON string: they reach the rule and the starter’s package', () => {
    const out = join(work, 'opt-in');
    const result = cdkSynth(out, { 'gatewatch:optInAlarms': '{"shop-api-5xx":"shop"}' });
    expect(result.status, result.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'Gatewatch.template.json'), 'utf8')) as Template;
    const rule = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        JSON.stringify(r.Properties.EventPattern ?? '').includes('"CloudWatch Alarm State Change"'),
    )!;
    expect((rule.Properties.EventPattern as { detail: { alarmName: unknown[] } }).detail.alarmName).toEqual([
      'shop-api-5xx',
    ]);
    const starter = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' && /starts one diagnosis/.test(String(r.Properties.Description)),
    )!;
    const routes = JSON.parse(
      readFileSync(join(out, starter.Metadata!['aws:asset:path']!, BUNDLED_FILES.alarmRoutes), 'utf8'),
    );
    expect(routes.names).toEqual({ 'shop-api-5xx': 'shop' });
  }, 900_000);

  it('fails through the CLI too, with the app’s message', () => {
    const result = cdkSynth(join(work, 'bad-json-cli'), { 'gatewatch:optInAlarms': 'shop-api-5xx=shop' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('gatewatch:optInAlarms');
  }, 300_000);

  describe('500 targets, every Lambda bundled for real', () => {
    const out = join(work, 'scale-500');
    const config = scaleConfig(500);
    const optIn = scaleOptInAlarms(config);
    let result: ReturnType<typeof cdkSynth>;
    let template: Template;

    beforeAll(() => {
      const configPath = join(work, 'gatewatch-500.yaml');
      writeFileSync(configPath, stringify(config));
      // One stack of 500 targets still has two alarms per target until the detection rework: let CDK
      // write it (the resource count is limits-resources.test.ts's to judge), to bundle and measure.
      // Context values from -c are strings, so these two go in a cdk.json of their own.
      const cwd = join(work, 'app-500');
      mkdirSync(cwd);
      const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
        context: Record<string, unknown>;
      };
      writeFileSync(
        join(cwd, 'cdk.json'),
        JSON.stringify({
          app: `${join(REPO_ROOT, 'node_modules/.bin/node')} ${join(REPO_ROOT, 'bin/app.ts')}`,
          context: {
            ...cdkJson.context,
            '@aws-cdk/core:stackResourceLimit': 0,
            '@aws-cdk/core:validateAgainstDefaultRules': false,
          },
        }),
      );
      result = cdkSynth(
        out,
        { 'gatewatch:config': configPath, 'gatewatch:optInAlarms': JSON.stringify(optIn) },
        cwd,
      );
      const file = join(out, 'Gatewatch.template.json');
      if (existsSync(file)) template = JSON.parse(readFileSync(file, 'utf8')) as Template;
    }, 960_000);

    it('bundles without E2BIG: the configuration travels as a file in each package, not on a command line', () => {
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stderr).not.toContain('E2BIG');
      const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
      expect(functions).toHaveLength(10);
      for (const fn of functions) {
        const shipped = JSON.parse(
          readFileSync(join(out, fn.Metadata!['aws:asset:path']!, BUNDLED_FILES.config), 'utf8'),
        );
        expect(shipped.targets).toHaveLength(500);
        expect(shipped).toEqual(config);
        const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(variables).not.toHaveProperty(LAMBDA_ENV.config);
        expect(variables).not.toHaveProperty(LAMBDA_ENV.alarmRoutes);
      }
    });

    it('has the bundled starter route the 500th target’s alarm from its package and start its diagnosis', async () => {
      const starter = Object.values(template.Resources).find(
        (r) =>
          r.Type === 'AWS::Lambda::Function' && /starts one diagnosis/.test(String(r.Properties.Description)),
      )!;
      const bundle = join(out, starter.Metadata!['aws:asset:path']!, 'index.mjs');
      const last = config.targets.at(-1)!.name;

      // Step Functions over the wire: an HTTP endpoint on loopback that records StartExecution.
      const requests: { target: string; body: Record<string, unknown> }[] = [];
      const server = createServer((request: IncomingMessage, response) => {
        let body = '';
        request.on('data', (chunk) => {
          body += chunk;
        });
        request.on('end', () => {
          const parsed = JSON.parse(body) as Record<string, unknown>;
          requests.push({ target: String(request.headers['x-amz-target']), body: parsed });
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(
            JSON.stringify({
              executionArn: `${parsed.stateMachineArn}:${parsed.name}`.replace(
                ':stateMachine:',
                ':execution:',
              ),
              startDate: 1,
            }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        const stateMachineArn = 'arn:aws:states:ap-southeast-2:123456789012:stateMachine:GatewatchDiagnosis';
        const event = {
          version: '0',
          id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
          // gatewatch's own alarms are multi-time-series: the 500th target arrives as a contributor.
          'detail-type': 'CloudWatch Alarm Contributor State Change',
          source: 'aws.cloudwatch',
          account: '123456789012',
          time: '2026-12-06T22:00:00Z',
          region: 'ap-southeast-2',
          resources: ['arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:gatewatch-probe-failed-1'],
          detail: {
            alarmName: 'gatewatch-probe-failed-1',
            alarmContributor: { id: 'a1b2c3d4e5f60718', attributes: { Target: last } },
            state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-12-06T22:00:00.000+0000' },
          },
        };
        const script = `
          const { handler } = await import(${JSON.stringify(bundle)});
          const context = { functionName: 'starter', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30000,
            invokedFunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:starter', memoryLimitInMB: '256' };
          const results = [await handler(${JSON.stringify(event)}, context),
            await handler(${JSON.stringify({ ...event, 'detail-type': 'CloudWatch Alarm State Change', detail: { alarmName: 'gatewatch-prober_heartbeat', state: event.detail.state }, resources: ['arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:gatewatch-prober_heartbeat'] })}, context)];
          process.stdout.write('RESULT' + JSON.stringify(results));`;
        const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
          (resolve) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
              env: {
                PATH: process.env.PATH,
                AWS_REGION: 'ap-southeast-2',
                AWS_ACCESS_KEY_ID: 'testing',
                AWS_SECRET_ACCESS_KEY: 'testing',
                AWS_ENDPOINT_URL_SFN: `http://127.0.0.1:${port}`,
                [LAMBDA_ENV.stateMachineArn]: stateMachineArn,
                POWERTOOLS_METRICS_DISABLED: 'true',
                POWERTOOLS_LOG_LEVEL: 'SILENT',
              },
            });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d: Buffer) => {
              stdout += d;
            });
            child.stderr.on('data', (d: Buffer) => {
              stderr += d;
            });
            child.on('close', (status: number | null) => resolve({ status, stdout, stderr }));
          },
        );
        expect(run.status, run.stderr).toBe(0);
        const results = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('RESULT') + 6)) as {
          status: string;
          incidentId?: string;
        }[];
        expect(results[0]).toMatchObject({ status: 'started' });
        expect(results[1]).toMatchObject({ status: 'ignored' });
        expect(requests).toHaveLength(1);
        expect(requests[0]!.target).toBe('AWSStepFunctions.StartExecution');
        expect(requests[0]!.body.stateMachineArn).toBe(stateMachineArn);
        expect(JSON.parse(String(requests[0]!.body.input))).toMatchObject({ target: last });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }, 120_000);
  });
});
