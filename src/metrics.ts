import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KeySourceStatus } from './auth/key-source.ts';
import type { StreamCut } from './http/context.ts';
import type { AdmissionStats } from './upstream/admission.ts';
import type { TokenStatus } from './upstream/token-provider.ts';

/**
 * Prometheus metrics. Label values are bounded by construction: route templates, status codes,
 * operation names and fixed outcome words, never an id or a subject.
 */
export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  requestSeconds: Histogram<'route'>;
  /** One per HTTP exchange with SailPoint: success, relayed, a retry reason, credential_rejected or failed. */
  upstreamAttempts: Counter<'operation' | 'outcome'>;
  /** One per call, after its retries: success, relayed, gave_up, shed, no_credential, caller_aborted or failed. */
  upstreamCalls: Counter<'operation' | 'result'>;
  queueWaitSeconds: Histogram<'class'>;
  streamsCut: Counter<'cause'>;
  bytesStreamed: Counter;
  auditRecords: Counter<'outcome'>;
  /** Client connections closed at once because SERVER_MAX_CONNECTIONS were open. */
  connectionsRefused: Counter;
  /** Browser sessions: login, refresh, refresh_refused, logout. */
  sessionEvents: Counter<'event'>;
  /** Numbers owned by other parts, read at scrape time. */
  observe(sources: MetricSources): void;
}

export interface MetricSources {
  admission(): AdmissionStats;
  credential(): TokenStatus;
  callerKeys(): KeySourceStatus;
  /** The readiness checks, as one gauge per dependency and state. */
  checks(): Array<{ name: string; state: string }>;
  /** Live browser sessions in this process; undefined without session mode. */
  sessions(): number | undefined;
}

const CUT_CAUSES: StreamCut[] = ['caller_aborted', 'caller_stalled', 'upstream_failed', 'drain'];

/** A counter whose total is kept elsewhere: it is set from that total when scraped. */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Record<string, string>, number]>) {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

const ageSeconds = (sinceMs: number | undefined): number => (sinceMs === undefined ? Number.NaN : (Date.now() - sinceMs) / 1000);

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const streamsCut = new Counter({ name: 'gateway_csv_streams_cut_total', help: 'CSV streams cut short, by cause.', labelNames: ['cause'], registers: [registry] });
  // Zero from the start, so a rate() over a cause that never happened is 0 rather than absent.
  for (const cause of CUT_CAUSES) streamsCut.inc({ cause }, 0);
  const metrics: Metrics = {
    registry,
    requests: new Counter({ name: 'gateway_requests_total', help: 'Requests answered, by route template and status.', labelNames: ['route', 'status'], registers: [registry] }),
    requestSeconds: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time to answer, by route template (for a CSV export: until its last byte).',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: [registry],
    }),
    upstreamAttempts: new Counter({
      name: 'gateway_upstream_attempts_total',
      help: 'HTTP exchanges with SailPoint, by operation and outcome.',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    upstreamCalls: new Counter({
      name: 'gateway_upstream_calls_total',
      help: 'Upstream calls after their retries, by operation and result.',
      labelNames: ['operation', 'result'],
      registers: [registry],
    }),
    queueWaitSeconds: new Histogram({
      name: 'gateway_budget_queue_wait_seconds',
      help: 'Time an upstream attempt waited for budget and a concurrency slot, by call class.',
      labelNames: ['class'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    streamsCut,
    bytesStreamed: new Counter({ name: 'gateway_csv_bytes_total', help: 'CSV bytes streamed to callers.', registers: [registry] }),
    sessionEvents: new Counter({ name: 'gateway_session_events_total', help: 'Browser-session events: login, refresh, refresh_refused, logout.', labelNames: ['event'], registers: [registry] }),
    connectionsRefused: new Counter({
      name: 'gateway_connections_refused_total',
      help: 'Client connections closed at once because SERVER_MAX_CONNECTIONS were already open.',
      registers: [registry],
    }),
    auditRecords: new Counter({ name: 'gateway_audit_records_total', help: 'Audit records written, by outcome.', labelNames: ['outcome'], registers: [registry] }),
    observe(sources) {
      const gauge = (name: string, help: string, read: () => number) =>
        new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
      if (sources.sessions() !== undefined) gauge('gateway_sessions_active', 'Live browser sessions held by this process.', () => sources.sessions() ?? 0);
      gauge('gateway_budget_queued', 'Calls waiting for upstream budget or a concurrency slot.', () => {
        const { queued } = sources.admission();
        return queued.interactive + queued.export;
      });
      gauge('gateway_upstream_in_flight', 'Upstream calls holding a concurrency slot (an export holds one until its last byte).', () => {
        const { running } = sources.admission();
        return running.interactive + running.export;
      });
      mirroredCounter(registry, 'gateway_budget_shed_total', 'Calls refused with 429 by admission.', [], () => [[{}, sources.admission().shed]]);
      mirroredCounter(registry, 'gateway_token_fetches_total', 'Fetches of the gateway\'s SailPoint credential, by result.', ['result'], () => {
        const { fetches, failures } = sources.credential();
        return [[{ result: 'ok' }, fetches - failures], [{ result: 'failed' }, failures]];
      });
      gauge('gateway_token_age_seconds', 'Age of the SailPoint credential in use; NaN while none is held.', () => ageSeconds(sources.credential().obtainedAtMs));
      mirroredCounter(registry, 'gateway_jwks_refreshes_total', 'Fetches of the identity provider\'s JWKS, by result.', ['result'], () => {
        const { refreshes } = sources.callerKeys();
        return [[{ result: 'ok' }, refreshes.ok], [{ result: 'failed' }, refreshes.failed]];
      });
      gauge('gateway_caller_keys_age_seconds', 'Age of the caller-token keys in use; NaN while none are loaded.', () => ageSeconds(sources.callerKeys().loadedAtMs));
      new Gauge({
        name: 'gateway_dependency_state',
        help: 'Readiness of each dependency: 1 for its current state (ok, degraded or failing), 0 for the others.',
        labelNames: ['dependency', 'state'],
        registers: [registry],
        collect() {
          this.reset();
          for (const check of sources.checks()) {
            for (const state of ['ok', 'degraded', 'failing']) this.set({ dependency: check.name, state }, check.state === state ? 1 : 0);
          }
        },
      });
    },
  };
  return metrics;
}
