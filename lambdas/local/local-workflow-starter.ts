/**
 * `WorkflowStarter` on this machine: what Step Functions' StartExecution is in AWS, for the local pipeline.
 * The execution name is the idempotency key, as in Step Functions: a name is used once (kept in memory
 * and, when a file is given, across restarts), a repeated name answers `already-started` and runs
 * nothing, whatever became of the first run. `start` returns once the run has begun, as StartExecution
 * does; {@link LocalWorkflowStarter.settled} waits for the runs.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EXECUTION_NAME } from '../handlers/alarm-episode.ts';
import type { WorkflowStart, WorkflowStarter, WorkflowStartOutcome } from '../ports.ts';
import { type WorkflowInput, WorkflowInputSchema } from '../steps/contracts.ts';
import type { StepDeps } from '../steps/deps.ts';
import { type RunOptions, runDiagnosisWorkflow, type WorkflowOutcome } from './workflow-runner.ts';

/** The start was refused: an invalid execution name or workflow input. Nothing was recorded or run. */
export class LocalWorkflowStartError extends Error {
  override name = 'LocalWorkflowStartError';
}

/** The file of used execution names cannot be read or written; starting anyway could diagnose twice. */
export class ExecutionNamesFileError extends Error {
  override name = 'ExecutionNamesFileError';
}

export interface LocalWorkflowStarterOptions {
  /** The ports the workflow's steps run with. */
  deps: StepDeps;
  /**
   * JSON file of the execution names already used, so a restarted process still refuses them (Step
   * Functions keeps names for 90 days). One process should own it: concurrent starts are serialized
   * within this process only. @default names are kept in memory only
   */
  namesFile?: string;
  /** How each execution runs: the definition (the synthesized one in tests), overrides, the poll wait. */
  run?: Omit<RunOptions, 'onEvents'>;
  /** Prefix of the local execution ARNs. @default 'arn:aws:states:local:000000000000:execution:gatewatch-local' */
  arnPrefix?: string;
}

/** One execution this starter began. */
export interface LocalExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly input: WorkflowInput;
  readonly startedAt: string;
  status: 'running' | 'succeeded' | 'failed';
  outcome?: WorkflowOutcome;
  /** Why the run failed, when it did. */
  error?: unknown;
}

interface NamesFile {
  version: 1;
  executions: Record<string, { startedAt: string; incidentId: string }>;
}

const DEFAULT_ARN_PREFIX = 'arn:aws:states:local:000000000000:execution:gatewatch-local';

export class LocalWorkflowStarter implements WorkflowStarter {
  readonly #deps: StepDeps;
  readonly #namesFile: string | undefined;
  readonly #run: Omit<RunOptions, 'onEvents'>;
  readonly #arnPrefix: string;
  readonly #executions: LocalExecution[] = [];
  readonly #runs: Promise<void>[] = [];
  #names: Map<string, { startedAt: string; incidentId: string }> | undefined;
  // Starts are decided one at a time: the check of a name and its recording are never interleaved.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LocalWorkflowStarterOptions) {
    this.#deps = options.deps;
    this.#namesFile = options.namesFile;
    this.#run = options.run ?? {};
    this.#arnPrefix = options.arnPrefix ?? DEFAULT_ARN_PREFIX;
  }

  /**
   * Starts one execution of the diagnosis workflow under `start.name`, or answers `already-started` when
   * the name was used before. Throws {@link LocalWorkflowStartError} for an invalid name or input and
   * {@link ExecutionNamesFileError} when the names file cannot be read or written.
   */
  start(start: WorkflowStart): Promise<WorkflowStartOutcome> {
    const decided = this.#queue.then(() => this.#startOne(start));
    this.#queue = decided.catch(() => undefined);
    return decided;
  }

  /** The executions this instance started, in order. */
  executions(): readonly LocalExecution[] {
    return [...this.#executions];
  }

  /** Resolves when every execution started so far has ended (successfully or not). */
  async settled(): Promise<void> {
    let seen = -1;
    // A run may end while another start is being decided: wait until no new run appeared.
    while (seen !== this.#runs.length) {
      seen = this.#runs.length;
      await this.#queue;
      await Promise.all(this.#runs);
    }
  }

  /** The local ARN of an execution name, shaped like Step Functions' execution ARNs. */
  executionArn(name: string): string {
    return `${this.#arnPrefix}:${name}`;
  }

  async #startOne(start: WorkflowStart): Promise<WorkflowStartOutcome> {
    if (!EXECUTION_NAME.test(start.name)) {
      throw new LocalWorkflowStartError(
        `execution name ${JSON.stringify(start.name)} must be 1-80 letters, digits, "-" or "_"`,
      );
    }
    const parsed = WorkflowInputSchema.safeParse(start.input);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`)
        .join('; ');
      throw new LocalWorkflowStartError(`execution ${start.name} has an invalid workflow input: ${problems}`);
    }
    const names = await this.#loadNames();
    const executionArn = this.executionArn(start.name);
    if (names.has(start.name)) return { status: 'already-started', executionArn };

    const startedAt = new Date().toISOString();
    names.set(start.name, { startedAt, incidentId: parsed.data.incidentId });
    try {
      await this.#saveNames(names);
    } catch (error) {
      names.delete(start.name);
      throw error;
    }
    this.#launch({ name: start.name, executionArn, input: parsed.data, startedAt, status: 'running' });
    return { status: 'started', executionArn };
  }

  #launch(execution: LocalExecution): void {
    this.#executions.push(execution);
    this.#runs.push(
      runDiagnosisWorkflow(execution.input, this.#deps, this.#run).then(
        (outcome) => {
          execution.status = 'succeeded';
          execution.outcome = outcome;
        },
        (error: unknown) => {
          // Kept, not thrown: as in Step Functions, a failed execution is looked up, not raised at the starter.
          execution.status = 'failed';
          execution.error = error;
        },
      ),
    );
  }

  async #loadNames(): Promise<Map<string, { startedAt: string; incidentId: string }>> {
    if (this.#names) return this.#names;
    const names = new Map<string, { startedAt: string; incidentId: string }>();
    if (this.#namesFile !== undefined) {
      let text: string | undefined;
      try {
        text = await readFile(this.#namesFile, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new ExecutionNamesFileError(`could not read ${this.#namesFile}`, { cause: error });
        }
      }
      if (text !== undefined) {
        let file: NamesFile;
        try {
          file = JSON.parse(text) as NamesFile;
        } catch (error) {
          throw new ExecutionNamesFileError(
            `${this.#namesFile} is not JSON: fix or remove it (removing it lets used names start again)`,
            { cause: error },
          );
        }
        for (const [name, entry] of Object.entries(file.executions ?? {})) names.set(name, entry);
      }
    }
    this.#names = names;
    return names;
  }

  async #saveNames(names: Map<string, { startedAt: string; incidentId: string }>): Promise<void> {
    if (this.#namesFile === undefined) return;
    const file: NamesFile = { version: 1, executions: Object.fromEntries(names) };
    const temporary = `${this.#namesFile}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.#namesFile), { recursive: true });
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, 'utf8');
      // Atomic: a crash leaves the previous file or the new one, never half of one.
      await rename(temporary, this.#namesFile);
    } catch (error) {
      throw new ExecutionNamesFileError(`could not write ${this.#namesFile}`, { cause: error });
    }
  }
}
