import { Router } from 'express';
import type { IdempotencyStore } from '../idempotency/store.ts';
import { runOnce, validIdempotencyKey } from '../idempotency/run-once.ts';
import type { CallerVerifier } from '../auth/verify-caller.ts';
import type { Grant } from '../auth/grants.ts';
import { requireGrant } from '../auth/require-grant.ts';
import type { AuditTrail } from '../audit/trail.ts';
import { errorReply, GatewayError } from '../errors.ts';
import { contextOf, type Egress } from '../http/context.ts';
import type { StoredResult } from '../idempotency/store.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import { onBehalfOf } from './on-behalf-of.ts';
import { validId, validReportType } from './params.ts';
import { sendBuffered, storedResult } from './relay.ts';

// A RegExp, not "/:id", so that an empty id reaches validation and gets its 400.
export const RUN_REPORT_ROUTE = /^\/v3\/campaigns\/([^/]*)\/run-report\/([^/]*)$/;

export interface CampaignReportDeps {
  verifier: CallerVerifier;
  upstream: UpstreamClient;
  anyOf: Grant[];
  idempotency: IdempotencyStore;
  /** How long a repeat waits for a first call with the same key that is still running. */
  idempotencyWaitMs: number;
  audit: AuditTrail;
}

/**
 * What a repeat of a report start gets when the first call failed after it may have reached
 * SailPoint: the same error answer, or, when its caller left before any answer, a 502 saying the
 * outcome is unknown. Never a second report.
 */
function replayOfFailure(error: unknown, requestId: string): StoredResult {
  const failure =
    error instanceof GatewayError
      ? error
      : new GatewayError(
          'ERR_UPSTREAM_FAILED',
          'The first request with this Idempotency-Key reached SailPoint, but its caller left before the answer; whether the report started is unknown. Check the campaign\'s reports before starting another.',
        );
  const reply = errorReply(failure, requestId);
  return { status: reply.status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(reply.body) };
}

export function campaignReportRoutes(deps: CampaignReportDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.post(
    RUN_REPORT_ROUTE,
    (_req, res, next) => {
      contextOf(res).route = 'POST /v3/campaigns/{id}/run-report/{type}';
      deps.audit(res, 'startCampaignReport');
      next();
    },
    requireGrant(deps.verifier, deps.anyOf),
    async (req, res) => {
      const params = req.params as unknown as Record<string, string | undefined>;
      const id = validId(params[0], 'campaign');
      const type = validReportType(params[1]);
      const key = validIdempotencyKey(req.headers['idempotency-key']);
      const context = contextOf(res);
      const egress = context.egress as Egress;
      egress.target = { campaignId: id, reportType: type };
      const requester = onBehalfOf(res);
      const start = async () =>
        storedResult(
          await deps.upstream.sendBuffered({
            operation: 'startCampaignReport',
            method: 'POST',
            path: `/v3/campaigns/${id}/run-report/${type}`,
            accept: 'application/json',
            repeatability: 'once',
            callClass: 'interactive',
            ...requester,
          }),
        );
      if (key === undefined) {
        sendBuffered(res, await start());
        return;
      }
      // Keys are per caller: one caller can never read another's result by guessing its key.
      const { result, replayed } = await runOnce(
        deps.idempotency,
        {
          caller: requester.caller,
          key,
          fingerprint: `${id}/${type}`,
          waitMs: deps.idempotencyWaitMs,
          signal: requester.signal,
          startedNothing: () => !context.upstream.mayHaveActed,
          replayOf: (error) => replayOfFailure(error, context.requestId),
        },
        start,
      );
      if (replayed) {
        egress.replayed = true;
        res.setHeader('idempotent-replayed', 'true');
      }
      sendBuffered(res, result);
    },
  );
  return router;
}
