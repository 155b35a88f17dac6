import type { Request, Response } from 'express';
import { GatewayError } from '../errors.ts';
import { contextOf } from '../http/context.ts';
import { grantAllowing, grantText, type Grant } from './grants.ts';
import type { Authenticate } from './authenticate.ts';

/**
 * Authenticates the caller, then checks the route's any-of policy: 401 "who are you?", 403 "you
 * may not". Resolves when the caller may go on; the refusal is thrown.
 */
export function requireGrant(authenticate: Authenticate, anyOf: readonly Grant[], route: { fileDownload: boolean }) {
  return async (req: Request, res: Response): Promise<void> => {
    const caller = await authenticate(req, route);
    const context = contextOf(res);
    context.caller = caller;
    const grant = grantAllowing(caller.grants, anyOf);
    if (grant === undefined) {
      const required = anyOf.map(grantText);
      context.log.info({ subject: caller.subject, required }, 'caller lacks the grant this route requires');
      throw new GatewayError('ERR_FORBIDDEN', `The caller lacks a grant this operation requires (any of: ${required.join(', ')}).`);
    }
    context.grant = grantText(grant);
  };
}
