import type { Request, Response } from 'express';
import { GatewayError } from '../errors.ts';
import { contextOf } from '../http/context.ts';
import { grantAllowing, grantText, type Grant } from './grants.ts';
import type { Authenticate } from './authenticate.ts';

/**
 * Authenticates the caller, then checks the route's any-of policy: 401 "who are you?", 403 "you
 * may not". Resolves with the refusal, or undefined when the caller may go on (handed back, not
 * thrown: see CallerVerifier).
 */
export function requireGrant(authenticate: Authenticate, anyOf: readonly Grant[], route: { fileDownload: boolean }) {
  const required = anyOf.map(grantText);
  const forbidden = new GatewayError('ERR_FORBIDDEN', `The caller lacks a grant this operation requires (any of: ${required.join(', ')}).`);
  return async (req: Request, res: Response): Promise<GatewayError | undefined> => {
    const caller = await authenticate(req, route);
    if (caller instanceof GatewayError) return caller;
    const context = contextOf(res);
    context.caller = caller;
    const grant = grantAllowing(caller.grants, anyOf);
    // No line of its own: the access line has the subject and the answer naming the grants, and
    // a flood of 403s would write two lines a refusal.
    if (grant === undefined) return forbidden;
    context.grant = grantText(grant);
    return undefined;
  };
}
