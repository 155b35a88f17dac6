// The example front-end (examples/front-end/), served in sandbox mode at /app/ on the gateway's
// own origin, so it runs in session mode with the cookie; and the sandbox's ids it suggests.
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import { documentHeaders } from '../http/security-headers.ts';

export const FRONT_END_DIR = fileURLToPath(new URL('../../examples/front-end/', import.meta.url));

// The API's own CSP is default-src 'none'; the page needs its own scripts, styles and calls, and
// nothing from anywhere else (no inline script, so an injected one does not run).
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface FrontEndSuggestions {
  campaigns: readonly string[];
  sources: readonly string[];
}

export function frontEndRoutes(suggestions: FrontEndSuggestions): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.use('/app', documentHeaders());
  // Where the provider's end-session page sends the browser back to (the post-logout URI).
  router.get('/', documentHeaders(), (_req: Request, res: Response) => res.redirect(302, '/app/'));
  router.get('/app', (_req: Request, res: Response) => res.redirect(301, '/app/'));
  router.get('/app/sandbox.json', (_req: Request, res: Response) => void res.json(suggestions));
  router.use(
    '/app/',
    express.static(FRONT_END_DIR, {
      index: 'index.html',
      redirect: false,
      setHeaders: (res) => {
        res.setHeader('content-security-policy', PAGE_CSP);
        res.setHeader('cache-control', 'no-cache');
      },
    }),
  );
  return router;
}
