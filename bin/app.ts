#!/usr/bin/env node
/**
 * The CDK app: `cdk synth` / `cdk deploy` run this (cdk.json: `node bin/app.ts`). It reads the
 * configuration named by the `gatewatch:config` context (default: gatewatch.example.yaml), builds the
 * stack and holds it to the cdk-nag packs. Needs no AWS credentials and does no lookups.
 *
 * Context (`-c key=value`; values from `-c` are strings, cdk.json may hold JSON):
 * - `gatewatch:config` — path of gatewatch.yaml;
 * - `gatewatch:stackName` — default Gatewatch;
 * - `gatewatch:logGroupPrefix` — every nginx log group starts with it (default /gatewatch/);
 * - `gatewatch:optInAlarms` — `{"alarm name":"target"}`, as JSON text or an object.
 * A value gatewatch cannot use exits 2 with what to write instead.
 */
import { App } from 'aws-cdk-lib';
import { AlarmDefinitionError } from '../lambdas/core/alarm/definitions.ts';
import { ConfigError } from '../lambdas/core/config.ts';
import { optInAlarmsFromContext, stringFromContext } from '../lib/app-context.ts';
import { AlarmTriggerPropsError } from '../lib/constructs/alarm-trigger.ts';
import { GatewatchStack } from '../lib/gatewatch-stack.ts';
import { loadConfigFile } from '../lib/load-config.ts';
import { DEFAULT_LOG_GROUP_PREFIX } from '../lib/log-groups.ts';
import { addNagPacks } from '../lib/nag.ts';

const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);
try {
  const config = loadConfigFile(
    stringFromContext('gatewatch:config', context('gatewatch:config'), 'gatewatch.example.yaml'),
  );
  new GatewatchStack(
    app,
    stringFromContext('gatewatch:stackName', context('gatewatch:stackName'), 'Gatewatch'),
    {
      config,
      description: 'gatewatch: finds out why nginx answers 502/504 and writes it down, with evidence',
      optInAlarms: optInAlarmsFromContext(context('gatewatch:optInAlarms')),
      logGroupPrefix: stringFromContext(
        'gatewatch:logGroupPrefix',
        context('gatewatch:logGroupPrefix'),
        DEFAULT_LOG_GROUP_PREFIX,
      ),
    },
  );
  addNagPacks(app);
  app.synth();
} catch (error) {
  // A configuration CloudWatch or EventBridge cannot express (a probe interval that is no alarm period,
  // opted-in names too long for one event pattern) is a usage error too.
  if (
    !(
      error instanceof ConfigError ||
      error instanceof AlarmDefinitionError ||
      error instanceof AlarmTriggerPropsError
    )
  )
    throw error;
  console.error(error.message);
  process.exitCode = 2;
}
