// W3C Trace Context (https://www.w3.org/TR/trace-context/), just the part a hop needs: continue
// the caller's trace or start one, and name this hop's span in the traceparent sent upstream.
// No OpenTelemetry SDK: the gateway records no spans itself, it carries the ids and logs them.
import { randomHex } from './random-hex.ts';

export interface TraceContext {
  traceId: string;
  /** The span this gateway hop is, and the parent-id SailPoint sees. */
  spanId: string;
  /** The caller's span, when the caller sent one. */
  parentSpanId: string | undefined;
  flags: string;
  /** Forwarded as received when it looks like a tracestate list; dropped otherwise. */
  tracestate: string | undefined;
}

// Version 00 exactly; a later version is read by its first four fields, as the spec asks.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;
// List members are key=value with printable ASCII; 512 characters is what vendors must propagate.
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/** Parses a traceparent header; undefined when absent or malformed (then a new trace starts). */
export function parseTraceparent(value: string | string[] | undefined): { traceId: string; parentSpanId: string; flags: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, parentSpanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentSpanId)) return undefined;
  return { traceId, parentSpanId, flags };
}

/** Continues the caller's trace when it sent a valid traceparent; starts a new one otherwise. */
export function traceContextFor(headers: Record<string, string | string[] | undefined>): TraceContext {
  const parent = parseTraceparent(headers['traceparent']);
  const spanId = randomHex(8);
  if (!parent) return { traceId: randomHex(16), spanId, parentSpanId: undefined, flags: '00', tracestate: undefined };
  const received = headers['tracestate'];
  const state = Array.isArray(received) ? received.join(',') : received;
  return {
    traceId: parent.traceId,
    spanId,
    parentSpanId: parent.parentSpanId,
    // Only the sampled bit is defined; the rest are passed on as the caller set them.
    flags: parent.flags,
    tracestate: state !== undefined && TRACESTATE.test(state) ? state : undefined,
  };
}

/** The traceparent this hop sends upstream: same trace, this hop's span as the parent. */
export function outgoingTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
