import { randomUUID } from 'node:crypto';
import type {
  CommandResult,
  CommandRunner,
  DiagnosticsDispatcher,
  DiagnosticsPoll,
  DiagnosticsRequest,
} from '../../ports.ts';

/**
 * The local stand-in for SSM Run Command: `send` runs the script on this host (synchronously, it is
 * short) and `collect` answers with the stored result, so the workflow's poll loop ends at once.
 */
export class LocalDiagnosticsDispatcher implements DiagnosticsDispatcher {
  readonly #runner: CommandRunner;
  readonly #results = new Map<string, CommandResult>();

  constructor(runner: CommandRunner) {
    this.#runner = runner;
  }

  async send(request: DiagnosticsRequest): Promise<{ commandId: string }> {
    const result = await this.#runner.runDiagnostics(request);
    const commandId = `local-${randomUUID()}`;
    this.#results.set(commandId, result);
    return { commandId };
  }

  async collect(request: { host: string; commandId: string }): Promise<DiagnosticsPoll> {
    const result = this.#results.get(request.commandId);
    if (!result) return { status: 'failed', reason: `unknown command ${request.commandId}` };
    this.#results.delete(request.commandId);
    if (result.exitCode !== 0 && !result.stdout.includes('@@GATEWATCH')) {
      return { status: 'failed', reason: `exit ${result.exitCode}: ${result.stderr.slice(0, 500)}`, result };
    }
    return { status: 'done', result };
  }
}
