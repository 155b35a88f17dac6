import type { Response } from 'express';
import { contextOf, newRequestId, type Egress } from '../http/context.ts';
import type { Metrics } from '../metrics.ts';
import { auditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

/** Marks a request as an egress decision; its audit record is written when the exchange ends. */
export type AuditTrail = (res: Response, operation: Egress['operation']) => Egress;

export function auditTrail(sink: AuditSink, metrics: Metrics): AuditTrail {
  return (res, operation) => {
    const startedAt = performance.now();
    const context = contextOf(res);
    const egress: Egress = { operation, target: {}, digest: undefined, cut: undefined, replayed: false };
    context.egress = egress;
    res.once('close', () => {
      const record = auditRecord(context, egress, {
        auditId: newRequestId(),
        status: res.headersSent ? res.statusCode : null,
        finished: res.writableFinished,
        durationMs: performance.now() - startedAt,
        atMs: Date.now(),
      });
      sink.write(record);
      metrics.auditRecords.inc({ outcome: record.outcome });
    });
    return egress;
  };
}
