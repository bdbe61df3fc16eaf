/**
 * The cdk-nag rule packs gatewatch is held to (AWS Solutions and Serverless). Registered as CDK
 * validation plugins: `cdk synth` fails on any finding that is not acknowledged with a reason
 * (`Validations.of(construct).acknowledge`) next to the construct it concerns.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

export function addNagPacks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
}
