import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT_CAUSE_NAMES, ROOT_CAUSES } from '../../lambdas/core/root-causes.ts';

const DESIGN = new URL('../../../shared/DESIGN.md', import.meta.url);

function vocabularyTable(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of markdown.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \|/gm))
    rows.set(match[1]!, match[2]!.trim());
  return rows;
}

describe('the root-cause vocabulary', () => {
  it('is the table the README documents, value for value and meaning for meaning', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('### Root causes'),
      readme.indexOf('\n## ', readme.indexOf('### Root causes')),
    );
    const table = vocabularyTable(section);
    expect([...table.keys()]).toEqual(ROOT_CAUSE_NAMES);
    for (const [name, meaning] of table) expect(meaning).toBe(ROOT_CAUSES[name as keyof typeof ROOT_CAUSES]);
  });

  it.skipIf(!existsSync(DESIGN))(
    'keeps every value of the shared DESIGN.md contract, in its order (skipped: ../shared/DESIGN.md not beside this checkout)',
    () => {
      // The contract may grow (new values are listed in the closing note for DESIGN.md), never lose or
      // rename a value: tools that read reports depend on each one.
      const table = vocabularyTable(readFileSync(DESIGN, 'utf8'));
      const kept = ROOT_CAUSE_NAMES.filter((name) => table.has(name));
      expect(kept).toEqual([...table.keys()]);
    },
  );
});
