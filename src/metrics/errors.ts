import { ErrorCode, RaftkvError } from '../common/errors.js';

/**
 * A metric declared wrongly: a bad or duplicate name, a bad label name, unsorted buckets, or labels
 * that do not match the declaration. Always a programming error, so it is thrown at once.
 */
export class MetricDefinitionError extends RaftkvError {
  override readonly name = 'MetricDefinitionError';
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
  }
}

/** A value a metric cannot take: a counter going down, NaN. */
export class MetricValueError extends RaftkvError {
  override readonly name = 'MetricValueError';
  constructor(metric: string, value: number, why: string) {
    super(ErrorCode.InvalidArgument, `metric ${metric}: ${why} (got ${value})`);
  }
}

/** The metrics HTTP endpoint could not listen (address in use, bad host). */
export class MetricsListenError extends RaftkvError {
  override readonly name = 'MetricsListenError';
  constructor(addr: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unavailable, `metrics server could not listen on ${addr}: ${String((options?.cause as Error | undefined)?.message ?? options?.cause)}`, options);
  }
}
