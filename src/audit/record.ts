// One audit record per egress decision: who asked to take what out of SailPoint, what the policy
// said, and what actually left. Pure: built from what the request accumulated, written elsewhere.
// The schema is documented in docs/AUDIT.md; change both together and bump AUDIT_SCHEMA.
import type { ErrorCode } from '../errors.ts';
import type { Egress, RequestContext } from '../http/context.ts';
import { isoTime } from '../iso-time.ts';

export const AUDIT_SCHEMA = 2;

export type AuditOutcome =
  | 'complete'
  | 'refused'
  | 'upstream_failed'
  /** The caller left before anything reached SailPoint. */
  | 'caller_left_before_sending'
  /** The caller left after the request reached SailPoint, before the answer: SailPoint may have acted. */
  | 'caller_left_after_sending'
  /** The caller left mid-download. */
  | 'caller_aborted'
  /** The caller stopped reading a download for STREAM_IDLE_TIMEOUT_MS and was cut. */
  | 'caller_stalled'
  | 'cut_by_drain'
  | 'failed';

export interface AuditRecord {
  kind: 'audit';
  schema: typeof AUDIT_SCHEMA;
  time: string;
  /** Made by the gateway for this record alone: a caller can repeat a requestId, never this. */
  auditId: string;
  requestId: string;
  traceId: string;
  subject: string | null;
  /** How the caller arrived: a bearer token or a browser session; null when it was refused first. */
  via: 'bearer' | 'session' | null;
  operation: Egress['operation'];
  target: Record<string, string>;
  decision: 'allowed' | 'refused';
  grant: string | null;
  /** The error the gateway answered with, when it answered one of its own. */
  error: { code: ErrorCode; message: string } | null;
  /** What the gateway answered; null when the caller left before any answer. */
  status: number | null;
  /** Whether the request reached SailPoint, and its last answer when one arrived. */
  reachedUpstream: boolean;
  upstreamStatus: number | null;
  attempts: number;
  queueWaitMs: number;
  bytes: number;
  sha256: string | null;
  idempotentReplay: boolean;
  outcome: AuditOutcome;
  durationMs: number;
}

/** What the HTTP layer knows once the exchange with the caller is over. */
export interface ExchangeEnd {
  auditId: string;
  /** The status answered, if the answer's headers were sent. */
  status: number | null;
  /** The caller received the whole answer. */
  finished: boolean;
  durationMs: number;
  atMs: number;
}

// Refusals are the gateway declining to go on; everything else that failed is the upstream's doing.
const UPSTREAM_FAILURES = new Set<ErrorCode>(['ERR_UPSTREAM_FAILED', 'ERR_UPSTREAM_TIMEOUT', 'ERR_UPSTREAM_CREDENTIAL']);

export function auditOutcome(egress: Egress, answered: ErrorCode | undefined, finished: boolean, reached: boolean): AuditOutcome {
  if (egress.cut === 'drain') return 'cut_by_drain';
  if (egress.cut !== undefined) return egress.cut;
  if (answered !== undefined && UPSTREAM_FAILURES.has(answered)) return 'upstream_failed';
  if (!finished) return egress.digest !== undefined ? 'caller_aborted' : reached ? 'caller_left_after_sending' : 'caller_left_before_sending';
  if (answered === 'ERR_INTERNAL') return 'failed';
  if (answered !== undefined) return 'refused';
  return 'complete';
}

export function auditRecord(context: RequestContext, egress: Egress, end: ExchangeEnd): AuditRecord {
  const answered = context.answeredError;
  return {
    kind: 'audit',
    schema: AUDIT_SCHEMA,
    time: isoTime(end.atMs),
    auditId: end.auditId,
    requestId: context.requestId,
    traceId: context.trace.traceId,
    subject: context.caller?.subject ?? null,
    via: context.caller?.via ?? null,
    operation: egress.operation,
    target: egress.target,
    decision: context.grant === undefined ? 'refused' : 'allowed',
    grant: context.grant ?? null,
    error: answered === undefined ? null : { code: answered.code, message: answered.message },
    status: end.status,
    reachedUpstream: context.upstream.reached,
    upstreamStatus: context.upstream.status ?? null,
    attempts: context.upstream.attempts,
    queueWaitMs: Math.round(context.upstream.queueWaitMs * 100) / 100,
    bytes: context.bytes,
    sha256: egress.digest?.digest('hex') ?? null,
    idempotentReplay: egress.replayed,
    outcome: auditOutcome(egress, answered?.code, end.finished, context.upstream.reached),
    durationMs: Math.round(end.durationMs * 100) / 100,
  };
}
