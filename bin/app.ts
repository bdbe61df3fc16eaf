#!/usr/bin/env node
/**
 * The CDK app: `cdk synth` / `cdk deploy` run this (cdk.json: `node bin/app.ts`). It reads the
 * configuration named by the `gatewatch:config` context (default: gatewatch.example.yaml), builds the
 * stack and holds it to the cdk-nag packs. Needs no AWS credentials and does no lookups.
 */
import { App } from 'aws-cdk-lib';
import { AlarmDefinitionError } from '../lambdas/core/alarm/definitions.ts';
import { ConfigError } from '../lambdas/core/config.ts';
import { GatewatchStack } from '../lib/gatewatch-stack.ts';
import { loadConfigFile } from '../lib/load-config.ts';
import { addNagPacks } from '../lib/nag.ts';

const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);
try {
  const config = loadConfigFile(String(context('gatewatch:config') ?? 'gatewatch.example.yaml'));
  const optIn = context('gatewatch:optInAlarms');
  new GatewatchStack(app, String(context('gatewatch:stackName') ?? 'Gatewatch'), {
    config,
    description: 'gatewatch: finds out why nginx answers 502/504 and writes it down, with evidence',
    ...(optIn && typeof optIn === 'object' ? { optInAlarms: optIn as Record<string, string> } : {}),
  });
  addNagPacks(app);
  app.synth();
} catch (error) {
  // A configuration CloudWatch cannot express (e.g. a probe interval that is no alarm period) is a usage error too.
  if (!(error instanceof ConfigError || error instanceof AlarmDefinitionError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
