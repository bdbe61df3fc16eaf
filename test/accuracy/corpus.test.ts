// The public corpus is data others will score against: every line has the address it was quoted at and a
// label from the root-cause vocabulary, and the scorer reads every line without throwing.
import { describe, expect, it } from 'vitest';
import { loadCorpus, scoreCorpus } from './corpus.ts';

describe('the public error-log corpus', () => {
  it('holds at least 100 quoted lines, each with its source address and a vocabulary label', async () => {
    const lines = await loadCorpus();

    expect(lines.length).toBeGreaterThanOrEqual(100);
    for (const entry of lines) {
      expect(entry.source).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+\/(issues|pull)\/\d+$/);
      expect(entry.line.length).toBeGreaterThan(20);
    }
    expect(new Set(lines.map((e) => e.line)).size).toBe(lines.length);
  });

  it('scores every line through the shipped parser and classifier', async () => {
    const outcomes = await scoreCorpus();

    expect(outcomes).toHaveLength((await loadCorpus()).length);
    for (const outcome of outcomes) expect(outcome.confidence).toBeGreaterThanOrEqual(0);
    // Wrong is allowed (the table says how often); wrong and sure of it is not.
    expect(outcomes.filter((o) => !o.right && o.confidence >= 0.8).map((o) => o.line)).toEqual([]);
  });
});
