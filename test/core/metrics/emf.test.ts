import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dimensionValue,
  EMF_LIMITS,
  EmfDocumentError,
  emfDocument,
  emfLines,
} from '../../../lambdas/core/metrics/emf.ts';
import type { MetricRecord } from '../../../lambdas/core/metrics/records.ts';

const AT = Date.parse('2026-11-24T05:11:00Z');

function record(overrides: Partial<MetricRecord> = {}): MetricRecord {
  return {
    atMs: AT,
    dimensions: { Target: 'shop' },
    metrics: [{ name: 'ProbeFailed', unit: 'Count', value: 1 }],
    ...overrides,
  };
}

describe('emfDocument', () => {
  it('writes one metric directive with exactly the record’s dimensions, in the Gatewatch namespace', () => {
    const document = emfDocument(
      record({
        metrics: [
          { name: 'ProbeFailed', unit: 'Count', value: 1 },
          { name: 'ProbeLatency', unit: 'Milliseconds', value: 12.5 },
        ],
        properties: { url: 'https://shop.example.com/healthz', status: 503 },
      }),
    );

    expect(document).toEqual({
      _aws: {
        Timestamp: AT,
        CloudWatchMetrics: [
          {
            Namespace: 'Gatewatch',
            Dimensions: [['Target']],
            Metrics: [
              { Name: 'ProbeFailed', Unit: 'Count' },
              { Name: 'ProbeLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      Target: 'shop',
      ProbeFailed: 1,
      ProbeLatency: 12.5,
      url: 'https://shop.example.com/healthz',
      status: 503,
    });
  });

  it('adds no service or function dimension (an alarm on ProbeFailed{Target} must see the metric)', () => {
    const document = emfDocument(record());
    expect(document._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Target']]);
    expect(Object.keys(document)).not.toContain('service');
  });

  it('lists the dimensions of a set in a stable order, whatever the record’s key order', () => {
    const a = emfDocument(record({ dimensions: { Upstream: '127.0.0.1:3000', Target: 'shop' } }));
    const b = emfDocument(record({ dimensions: { Target: 'shop', Upstream: '127.0.0.1:3000' } }));
    expect(a._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Target', 'Upstream']]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it.each<[string, Partial<MetricRecord>, RegExp]>([
    ['a metric named like a dimension', { metrics: [{ name: 'Target', unit: 'Count', value: 1 }] }, /twice/],
    ['a property named like a metric', { properties: { ProbeFailed: 'x' } }, /twice/],
    ['a property named _aws', { properties: { _aws: 1 } }, /twice/],
    ['no metric at all', { metrics: [] }, /at least one metric/],
    [
      'a value that is not a number',
      { metrics: [{ name: 'X', unit: 'Count', value: Number.NaN }] },
      /finite/,
    ],
    [
      'an infinite value',
      { metrics: [{ name: 'X', unit: 'Count', value: Number.POSITIVE_INFINITY }] },
      /finite/,
    ],
    ['a metric name with a newline', { metrics: [{ name: 'a\nb', unit: 'Count', value: 1 }] }, /printable/],
    ['an empty metric name', { metrics: [{ name: ' ', unit: 'Count', value: 1 }] }, /printable/],
    ['a raw non-ASCII dimension value', { dimensions: { Target: 'shöp' } }, /dimensionValue/],
    ['an empty dimension value', { dimensions: { Target: '' } }, /dimensionValue/],
    ['a timestamp that is not a time', { atMs: Number.NaN }, /not a time/],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => emfDocument(record(overrides))).toThrow(EmfDocumentError);
    expect(() => emfDocument(record(overrides))).toThrow(message);
  });

  it('refuses more metrics or dimensions than the format allows', () => {
    const metrics = Array.from({ length: EMF_LIMITS.maxMetrics + 1 }, (_, i) => ({
      name: `M${i}`,
      unit: 'Count' as const,
      value: i,
    }));
    expect(() => emfDocument(record({ metrics }))).toThrow(/EMF allows 100/);
    const dimensions = Object.fromEntries(
      Array.from({ length: EMF_LIMITS.maxDimensions + 1 }, (_, i) => [`D${i}`, 'v']),
    );
    expect(() => emfDocument(record({ dimensions }))).toThrow(/EMF allows 30/);
    expect(() => emfDocument(record({ metrics: metrics.slice(0, EMF_LIMITS.maxMetrics) }))).not.toThrow();
  });
});

describe('dimensionValue', () => {
  it.each([
    ['127.0.0.1:3000', '127.0.0.1:3000'],
    ['unix:/run/app.sock', 'unix:/run/app.sock'],
    ['[::1]:3000', '[::1]:3000'],
    ['caf\u00e9.example:80', 'caf?.example:80'],
    ['a\tb', 'a?b'],
    ['', '-'],
    ['   ', '-'],
  ])('turns %j into %j', (given, expected) => {
    expect(dimensionValue(given)).toBe(expected);
  });

  it('always yields a value emfDocument accepts, and leaves a valid one unchanged', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1500, unit: 'binary' }), (text) => {
        const value = dimensionValue(text);
        expect(value.length).toBeLessThanOrEqual(EMF_LIMITS.maxDimensionValueLength);
        expect(dimensionValue(value)).toBe(value);
        expect(() => emfDocument(record({ dimensions: { Upstream: value } }))).not.toThrow();
      }),
    );
  });
});

describe('emfLines', () => {
  it('writes one JSON document per line, each a complete EMF document', () => {
    const lines = emfLines([
      record(),
      record({
        dimensions: { Prober: 'gatewatch' },
        metrics: [{ name: 'Heartbeat', unit: 'Count', value: 1 }],
      }),
    ]);

    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(JSON.parse(line)).toHaveProperty('_aws.CloudWatchMetrics');
    }
    expect(JSON.parse(lines[1]!)).toMatchObject({ Prober: 'gatewatch', Heartbeat: 1 });
  });
});
