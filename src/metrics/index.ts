export { Registry, LABEL_SETS_MAX_DEFAULT, CONTENT_TYPE, type RegistryOptions } from './registry.js';
export { Counter, Gauge, Histogram, HISTOGRAM_BUCKETS_MAX, type Emit } from './instruments.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './http-server.js';
export { startNodeMetrics, type NodeMetrics } from './node-metrics.js';
export { MetricDefinitionError, MetricValueError, MetricsListenError } from './errors.js';
