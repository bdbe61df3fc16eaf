/**
 * CloudWatch Embedded Metric Format: a metric is a JSON log line with an `_aws` block, and CloudWatch
 * extracts it from the function's log group — no PutMetricData call, no IAM permission, no latency.
 * Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * gatewatch writes these documents itself rather than through Powertools Metrics: Powertools adds a
 * `service` dimension to every metric, and an alarm on `ProbeFailed{Target}` never sees
 * `ProbeFailed{Target,service}`. Here the dimensions are exactly the record's, and each record keeps its
 * own timestamp (a minute of log traffic is published for that minute, not for the moment it was read).
 */
import { type MetricRecord, NAMESPACE } from './records.ts';

/** A record that CloudWatch would reject or misread as a metric. */
export class EmfDocumentError extends Error {
  override name = 'EmfDocumentError';
}

/** Limits of the format (metrics per document, dimensions per set, name and value lengths). */
export const EMF_LIMITS = {
  maxMetrics: 100,
  maxDimensions: 30,
  maxNameLength: 255,
  maxDimensionValueLength: 1024,
} as const;

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [member: string]: unknown;
}

// CloudWatch accepts printable ASCII in names and dimension values, with at least one non-space.
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * A dimension value CloudWatch accepts, from any text (an upstream address, a host name): non-printable
 * and non-ASCII characters become `?`, the value is cut at the format's limit, and an empty one is `-`.
 */
export function dimensionValue(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?').slice(0, EMF_LIMITS.maxDimensionValueLength);
  return printable.trim() === '' ? '-' : printable;
}

function checkName(kind: string, name: string): void {
  if (name.length > EMF_LIMITS.maxNameLength || !PRINTABLE_ASCII.test(name) || name.trim() === '') {
    throw new EmfDocumentError(
      `${kind} name ${JSON.stringify(name)} must be 1-${EMF_LIMITS.maxNameLength} printable ASCII characters`,
    );
  }
}

/** The EMF document of one record. */
export function emfDocument(record: MetricRecord, namespace: string = NAMESPACE): EmfDocument {
  if (!Number.isFinite(record.atMs)) throw new EmfDocumentError(`timestamp ${record.atMs} is not a time`);
  if (record.metrics.length === 0) throw new EmfDocumentError('a record needs at least one metric');
  if (record.metrics.length > EMF_LIMITS.maxMetrics) {
    throw new EmfDocumentError(
      `${record.metrics.length} metrics in one record; EMF allows ${EMF_LIMITS.maxMetrics}`,
    );
  }
  const dimensionNames = Object.keys(record.dimensions).sort();
  if (dimensionNames.length > EMF_LIMITS.maxDimensions) {
    throw new EmfDocumentError(
      `${dimensionNames.length} dimensions; EMF allows ${EMF_LIMITS.maxDimensions} per set`,
    );
  }
  const members: Record<string, unknown> = {};
  const claim = (member: string, value: unknown): void => {
    // A metric, a dimension and a property are all top-level members: two of them may not share a name.
    if (member === '_aws' || Object.hasOwn(members, member)) {
      throw new EmfDocumentError(`"${member}" is used twice in one document (metric, dimension or property)`);
    }
    members[member] = value;
  };
  for (const name of dimensionNames) {
    checkName('dimension', name);
    const value = record.dimensions[name]!;
    if (value !== dimensionValue(value)) {
      throw new EmfDocumentError(
        `dimension ${name}=${JSON.stringify(value)} is not a valid value; pass it through dimensionValue()`,
      );
    }
    claim(name, value);
  }
  for (const metric of record.metrics) {
    checkName('metric', metric.name);
    if (!Number.isFinite(metric.value)) {
      throw new EmfDocumentError(`metric ${metric.name} has the value ${metric.value}, not a finite number`);
    }
    claim(metric.name, metric.value);
  }
  for (const [name, value] of Object.entries(record.properties ?? {})) claim(name, value);
  return {
    _aws: {
      Timestamp: Math.round(record.atMs),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [dimensionNames],
          Metrics: record.metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    ...members,
  };
}

/** One newline-terminated JSON line per record, ready for stdout (where Lambda sends it to CloudWatch Logs). */
export function emfLines(records: readonly MetricRecord[], namespace: string = NAMESPACE): string[] {
  return records.map((record) => `${JSON.stringify(emfDocument(record, namespace))}\n`);
}
