import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics. Label values are bounded by construction: route templates, status codes,
 * operation names and fixed outcome words, never an id or a subject.
 */
export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  requestSeconds: Histogram<'route'>;
  upstreamAttempts: Counter<'operation' | 'outcome'>;
  streamsCut: Counter<'cause'>;
  bytesStreamed: Counter;
  /** Read at scrape time from the parts that own the numbers. */
  observe(sources: { queued(): number; running(): number; shed(): number; tokenFetches(): number }): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const metrics: Metrics = {
    registry,
    requests: new Counter({ name: 'gateway_requests_total', help: 'Requests answered, by route template and status.', labelNames: ['route', 'status'], registers: [registry] }),
    requestSeconds: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time to answer, by route template.',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    upstreamAttempts: new Counter({
      name: 'gateway_upstream_attempts_total',
      help: 'Upstream attempts by operation and outcome (the status, or the error kind).',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    streamsCut: new Counter({ name: 'gateway_csv_streams_cut_total', help: 'CSV streams cut short, by cause.', labelNames: ['cause'], registers: [registry] }),
    bytesStreamed: new Counter({ name: 'gateway_csv_bytes_total', help: 'CSV bytes streamed to callers.', registers: [registry] }),
    observe(sources) {
      new Gauge({ name: 'gateway_budget_queued', help: 'Calls waiting for upstream budget.', registers: [registry], collect() { this.set(sources.queued()); } });
      new Gauge({ name: 'gateway_upstream_in_flight', help: 'Upstream calls holding a concurrency slot.', registers: [registry], collect() { this.set(sources.running()); } });
      new Gauge({ name: 'gateway_budget_shed', help: 'Calls refused with 429 by admission since start.', registers: [registry], collect() { this.set(sources.shed()); } });
      new Gauge({ name: 'gateway_token_fetches', help: 'Upstream credential fetches since start.', registers: [registry], collect() { this.set(sources.tokenFetches()); } });
    },
  };
  return metrics;
}
