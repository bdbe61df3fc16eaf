/**
 * Files the stack ships inside every gatewatch Lambda's code package, next to `index.mjs`: the validated
 * `gatewatch.yaml` as JSON and, for the starter, the alarm routes. The code package has no practical
 * size limit for them (250 MB unzipped), where Lambda's environment holds 4 KB for all variables and
 * one esbuild `--define` argument stops at Linux's 128 KiB per argument (E2BIG). See
 * `lib/constructs/gatewatch-function.ts`, which writes them.
 *
 * The handler source run outside a bundle (the handler tests) has no such files: there, and only
 * there, the same document is read from the environment variable named for it.
 */
import { readFileSync } from 'node:fs';
import { BUNDLED_FILES_DEFINE } from '../../../lib/workflow/lambda-wiring.ts';
import { LambdaEnvironmentError } from './environment.ts';

/**
 * `"bundle"` in a deployed bundle: esbuild's `define` replaces exactly this expression (a short literal;
 * the documents themselves never pass through the command line). Undefined when the source runs as is.
 */
const DELIVERY: string | undefined = process.env.GATEWATCH_FILES_DELIVERY;

/**
 * The text of a bundled file: read next to the bundle when this code is one, else from `fallback()`
 * (the environment, for the unbundled source). Throws {@link LambdaEnvironmentError} when neither has it.
 */
export function bundledText(
  name: string,
  fallback: () => string | undefined,
  delivery: string | undefined = DELIVERY,
): string | undefined {
  if (delivery !== BUNDLED_FILES_DEFINE.value) return fallback();
  try {
    return readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
  } catch (error) {
    throw new LambdaEnvironmentError(
      `${name} is missing from the function's code package: deploy the function with the gatewatch stack`,
      { cause: error },
    );
  }
}
