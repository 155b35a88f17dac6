import { Router } from 'express';
import type { CallerVerifier } from '../auth/verify-caller.ts';
import { requireGrant } from '../auth/require-grant.ts';
import { contextOf } from '../http/context.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import { callerSignal } from './caller-signal.ts';
import { validId, validReportType } from './params.ts';
import { relayBuffered } from './relay.ts';

// A RegExp, not "/:id", so that an empty id reaches validation and gets its 400.
const ROUTE = /^\/v3\/campaigns\/([^/]*)\/run-report\/([^/]*)$/;

export function campaignReportRoutes(deps: { verifier: CallerVerifier; upstream: UpstreamClient; anyOf: string[] }): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.post(
    ROUTE,
    (_req, res, next) => {
      contextOf(res).route = 'POST /v3/campaigns/{id}/run-report/{type}';
      next();
    },
    requireGrant(deps.verifier, deps.anyOf),
    async (req, res) => {
      const params = req.params as unknown as Record<string, string | undefined>;
      const id = validId(params[0], 'campaign');
      const type = validReportType(params[1]);
      const context = contextOf(res);
      const reply = await deps.upstream.send({
        operation: 'startCampaignReport',
        method: 'POST',
        path: `/v3/campaigns/${id}/run-report/${type}`,
        accept: 'application/json',
        repeatability: 'once',
        callClass: 'interactive',
        caller: context.caller?.subject ?? 'anonymous',
        requestId: context.requestId,
        signal: callerSignal(res),
        log: req.log,
        trace: context.trace,
      });
      await relayBuffered(reply, res);
    },
  );
  return router;
}
