import { describe, expect, it } from 'vitest';
import {
  alarmDefinitionsForTargets,
  PROBER_DIMENSION_VALUE,
} from '../../../lambdas/core/alarm/definitions.ts';
import { AlarmEvaluator } from '../../../lambdas/core/alarm/evaluator.ts';
import { emfDocument } from '../../../lambdas/core/metrics/emf.ts';
import { minuteCounter } from '../../../lambdas/core/metrics/log-minutes.ts';
import { logRateRecords } from '../../../lambdas/core/metrics/log-rate.ts';
import {
  dueProbeTargets,
  heartbeatRecord,
  probeRecords,
} from '../../../lambdas/core/metrics/probe-metrics.ts';
import { alarmSamples, type MetricRecord } from '../../../lambdas/core/metrics/records.ts';
import type { ProbeResult } from '../../../lambdas/core/probe/types.ts';
import { exampleConfig } from '../../infra/synth.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T05:00:00Z');

function result(overrides: Partial<ProbeResult>): ProbeResult {
  return {
    target: 'shop',
    url: 'https://shop.example.com/healthz',
    ok: true,
    status: 200,
    phases: { dns: 1.2, connect: 3.4, tls: 8.1, firstByte: 20.3, total: 33.7 },
    attempts: 1,
    assertions: [{ name: 'status', ok: true, detail: 'status 200' }],
    at: new Date(T0 + 1234).toISOString(),
    ...overrides,
  };
}

describe('dueProbeTargets', () => {
  const targets = [
    { name: 'every-run', probe: { intervalSeconds: 60 } },
    { name: 'faster-than-schedule', probe: { intervalSeconds: 10 } },
    { name: 'five-minutes', probe: { intervalSeconds: 300 } },
    { name: 'ninety-seconds', probe: { intervalSeconds: 90 } },
    { name: 'no-probe' },
  ];

  it.each([
    [0, ['every-run', 'faster-than-schedule', 'five-minutes', 'ninety-seconds']],
    [1, ['every-run', 'faster-than-schedule']],
    [2, ['every-run', 'faster-than-schedule', 'ninety-seconds']],
    [5, ['every-run', 'faster-than-schedule', 'five-minutes']],
    [10, ['every-run', 'faster-than-schedule', 'five-minutes', 'ninety-seconds']],
  ])('probes at minute %i: %j', (minute, expected) => {
    // 37 s into the minute: a schedule that fires late in its minute keeps the same grid.
    const due = dueProbeTargets(targets, T0 + minute * MINUTE + 37_000, 60);
    expect(due.map((t) => t.name)).toEqual(expected);
  });

  it('gives a long-interval probe exactly one run in each of its alarm periods', () => {
    const runs = Array.from({ length: 60 }, (_, m) => T0 + m * MINUTE + 5_000);
    const fiveMinute = runs.filter((at) =>
      dueProbeTargets(targets, at, 60).some((t) => t.name === 'five-minutes'),
    );
    const periods = fiveMinute.map((at) => Math.floor(at / (5 * MINUTE)));
    expect(new Set(periods).size).toBe(12);
    expect(periods).toHaveLength(12);
  });
});

describe('probeRecords', () => {
  it('publishes a passing probe as ProbeFailed 0 with its latency and the facts as properties', () => {
    const [record] = probeRecords([
      result({ certificate: { validTo: '2027-01-01T00:00:00Z', daysLeft: 38 } }),
    ]);

    expect(record).toEqual({
      atMs: T0 + 1234,
      dimensions: { Target: 'shop' },
      metrics: [
        { name: 'ProbeFailed', unit: 'Count', value: 0 },
        { name: 'ProbeLatency', unit: 'Milliseconds', value: 33.7 },
      ],
      properties: {
        url: 'https://shop.example.com/healthz',
        ok: true,
        status: 200,
        attempts: 1,
        phasesMs: { dns: 1.2, connect: 3.4, tls: 8.1, firstByte: 20.3, total: 33.7 },
        certificateDaysLeft: 38,
      },
    });
  });

  it('publishes a wrong answer as a failure that still has a latency, and says which assertion failed', () => {
    const [record] = probeRecords([
      result({
        ok: false,
        status: 502,
        failure: { kind: 'assertion', message: 'status 502, expected 200' },
        assertions: [{ name: 'status', ok: false, detail: 'status 502, expected 200' }],
      }),
    ]);

    expect(record!.metrics).toEqual([
      { name: 'ProbeFailed', unit: 'Count', value: 1 },
      { name: 'ProbeLatency', unit: 'Milliseconds', value: 33.7 },
    ]);
    expect(record!.properties).toMatchObject({
      failureKind: 'assertion',
      failedAssertions: ['status 502, expected 200'],
    });
  });

  it.each([
    'refused',
    'timeout',
    'reset',
    'dns',
    'tls',
    'forbidden-address',
    'unreachable',
    'protocol',
  ] as const)(
    'publishes a %s failure without a latency (the time to fail is not the service’s latency)',
    (kind) => {
      const [record] = probeRecords([
        result({
          ok: false,
          status: undefined,
          failure: { kind, message: `${kind} happened` },
          phases: { total: 0.4 },
          assertions: [],
        }),
      ]);
      expect(record!.metrics).toEqual([{ name: 'ProbeFailed', unit: 'Count', value: 1 }]);
      expect(record!.properties).toMatchObject({ failureKind: kind, failureMessage: `${kind} happened` });
      expect(record!.properties).not.toHaveProperty('status');
    },
  );

  it('produces records that are valid EMF documents', () => {
    for (const record of [...probeRecords([result({}), result({ ok: false })]), heartbeatRecord(T0, [])]) {
      expect(() => emfDocument(record)).not.toThrow();
    }
  });
});

describe('heartbeatRecord', () => {
  it('beats once per run on the Prober dimension, whatever the probes found', () => {
    const record = heartbeatRecord(T0, [result({}), result({ target: 'api', ok: false })]);
    expect(record).toEqual({
      atMs: T0,
      dimensions: { Prober: PROBER_DIMENSION_VALUE },
      metrics: [{ name: 'Heartbeat', unit: 'Count', value: 1 }],
      properties: { probed: 2, failed: 1 },
    });
    expect(heartbeatRecord(T0, []).metrics).toEqual([{ name: 'Heartbeat', unit: 'Count', value: 1 }]);
  });
});

describe('the published metrics and the alarm definitions', () => {
  /** Every record the example target produces: a probe run, the heartbeat, a minute of access log. */
  function exampleRecords(): MetricRecord[] {
    const access = minuteCounter('access', { fromMs: T0, toMs: T0 + MINUTE });
    access.add({
      timestampMs: T0 + 5_000,
      message:
        'gw1\t2026-11-24T05:00:05+00:00\t502\t0.001\t127.0.0.1:3000\t502\t-\t-\t0.000\tabc\t127.0.0.1\t"GET / HTTP/1.1"\t157\t"-"\t"curl/7.88.1"\tshop.example.com',
    });
    // The AWS log-rate publisher's records of the same minute (one 502 among one request).
    const shares = logRateRecords(
      [{ target: 'shop', logGroup: '/gatewatch/shop/nginx-access', window: { minutes: 5, minRequests: 1 } }],
      new Map([['/gatewatch/shop/nginx-access', [{ minuteMs: T0, requests: 1, status5xx: 1 }]]]),
      T0,
    );
    return [
      ...probeRecords([result({})]),
      heartbeatRecord(T0, [result({})]),
      ...access.records('shop'),
      ...shares,
    ];
  }

  it('publishes every metric an alarm of the example configuration watches, with exactly its dimensions', () => {
    const definitions = alarmDefinitionsForTargets(exampleConfig().targets, { probeIntervalSeconds: 60 });
    const published = exampleRecords().flatMap((r) =>
      r.metrics.map((m) => JSON.stringify(['Gatewatch', m.name, Object.entries(r.dimensions).sort()])),
    );

    expect(definitions.map((d) => d.metric.name).sort()).toEqual([
      'Heartbeat',
      'ProbeFailed',
      'Status5xxShare',
    ]);
    for (const definition of definitions) {
      const key = JSON.stringify([
        definition.metric.namespace,
        definition.metric.name,
        Object.entries(definition.metric.dimensions).sort(),
      ]);
      expect(published, definition.id).toContain(key);
    }
  });

  it('drives the local evaluator into ALARM from failing probe runs, as the deployed alarm would', () => {
    const definitions = alarmDefinitionsForTargets(exampleConfig().targets, { probeIntervalSeconds: 60 });
    const evaluator = new AlarmEvaluator(definitions);
    for (let minute = 0; minute < 3; minute++) {
      const at = new Date(T0 + minute * MINUTE + 1_000).toISOString();
      const failing = result({ at, ok: false, failure: { kind: 'refused', message: 'refused' } });
      for (const sample of alarmSamples([
        ...probeRecords([failing]),
        heartbeatRecord(T0 + minute * MINUTE, []),
      ])) {
        evaluator.putMetric(sample);
      }
    }

    const transitions = evaluator.evaluate(T0 + 3 * MINUTE);

    expect(transitions.find((t) => t.alarmId === 'shop-probe-failed')?.to).toBe('ALARM');
    expect(evaluator.state('prober-heartbeat')).toBe('OK');
  });

  it('leaves metrics no alarm watches out of the evaluator’s samples', () => {
    const samples = alarmSamples(exampleRecords());
    expect(new Set(samples.map((s) => s.name))).toEqual(
      new Set(['ProbeFailed', 'Heartbeat', 'Status5xxShare']),
    );
  });
});
