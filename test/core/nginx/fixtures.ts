/**
 * Access to the committed nginx fixtures (test/fixtures/nginx). The real-* files were written by a real
 * nginx 1.22 with injected upstream faults (make-fixtures.ts); public-reports.* quote bug reports.
 */
import { readFileSync } from 'node:fs';

const DIR = new URL('../../fixtures/nginx/', import.meta.url);

/** The error log of the instance in a network namespace runs in TZ=Asia/Kolkata. */
export const NETNS_UTC_OFFSET_MINUTES = 330;

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, DIR), 'utf8');
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, DIR)));
}

/** Non-blank lines, comment lines (`#`) dropped. */
export function fixtureLines(name: string): string[] {
  return fixtureText(name)
    .split('\n')
    .filter((line) => line.trim().length > 0 && !line.startsWith('#'));
}

/** The first line of a fixture containing every given piece of text; throws when there is none. */
export function lineWith(name: string, ...pieces: string[]): string {
  const line = fixtureLines(name).find((l) => pieces.every((p) => l.includes(p)));
  if (line === undefined) throw new Error(`no line in ${name} contains ${pieces.join(' + ')}`);
  return line;
}

/** Every line of a fixture containing every given piece of text. */
export function linesWith(name: string, ...pieces: string[]): string[] {
  return fixtureLines(name).filter((l) => pieces.every((p) => l.includes(p)));
}
