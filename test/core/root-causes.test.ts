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
    const table = vocabularyTable(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'));
    expect([...table.keys()]).toEqual(ROOT_CAUSE_NAMES);
    for (const [name, meaning] of table) expect(meaning).toBe(ROOT_CAUSES[name as keyof typeof ROOT_CAUSES]);
  });

  it.skipIf(!existsSync(DESIGN))(
    'is the table of the shared DESIGN.md contract (skipped: ../shared/DESIGN.md not beside this checkout)',
    () => {
      const table = vocabularyTable(readFileSync(DESIGN, 'utf8'));
      expect([...table.keys()]).toEqual(ROOT_CAUSE_NAMES);
    },
  );
});
