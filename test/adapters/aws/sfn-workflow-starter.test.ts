import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StepFunctionsWorkflowStarter,
  WorkflowStartError,
} from '../../../lambdas/adapters/aws/sfn-workflow-starter.ts';
import { motoAvailable, motoClientConfig, startMoto } from '../../support/moto.ts';

describe.skipIf(!motoAvailable)(
  'StepFunctionsWorkflowStarter over the Step Functions protocol (moto_server)',
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let client: SFNClient;
    let starter: StepFunctionsWorkflowStarter;
    let stateMachineArn: string;

    beforeAll(async () => {
      moto = await startMoto();
      client = new SFNClient(motoClientConfig(moto.endpoint));
      const created = await client.send(
        new CreateStateMachineCommand({
          name: 'GatewatchDiagnosis',
          definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
          roleArn: 'arn:aws:iam::123456789012:role/gatewatch-sfn',
        }),
      );
      stateMachineArn = created.stateMachineArn!;
      starter = new StepFunctionsWorkflowStarter(client, { stateMachineArn });
    });

    afterAll(async () => {
      client?.destroy();
      await moto?.stop();
    });

    it('starts an execution under the given name with the input as JSON', async () => {
      const outcome = await starter.start({
        name: 'shop-20261124T051148Z-0011223344556677',
        input: { target: 'shop' },
      });

      expect(outcome.status).toBe('started');
      const described = await client.send(
        new DescribeExecutionCommand({ executionArn: outcome.executionArn }),
      );
      expect(described.name).toBe('shop-20261124T051148Z-0011223344556677');
      expect(JSON.parse(described.input ?? '{}')).toEqual({ target: 'shop' });
    });

    it('answers already-started, with the same execution ARN, when the name is taken', async () => {
      const first = await starter.start({ name: 'shop-episode-a', input: { attempt: 1 } });
      const second = await starter.start({ name: 'shop-episode-a', input: { attempt: 2 } });

      expect(second).toEqual({ status: 'already-started', executionArn: first.executionArn });
    });

    it('wraps any other refusal in WorkflowStartError', async () => {
      const missing = new StepFunctionsWorkflowStarter(client, {
        stateMachineArn: stateMachineArn.replace('GatewatchDiagnosis', 'NoSuchMachine'),
      });

      await expect(missing.start({ name: 'x', input: {} })).rejects.toBeInstanceOf(WorkflowStartError);
    });
  },
);
