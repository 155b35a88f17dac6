// Peer: what a team would write by hand instead of the gateway, each library used the way its
// README shows: Express 5, pino-http, jose's jwtVerify against a remote JWKS on every request, a
// role check, express-rate-limit, and http-proxy-middleware with the upstream token.
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { pinoHttp } from 'pino-http';

const origin = process.env.UPSTREAM_ORIGIN as string;
const token = process.env.UPSTREAM_TOKEN as string;
const JWKS = createRemoteJWKSet(new URL(process.env.AUTH_JWKS_URL as string));

const app = express();
app.disable('x-powered-by');
app.use(pinoHttp());
// Per client address, in memory; set high enough never to refuse the bench's load.
app.use(rateLimit({ windowMs: 60_000, limit: 100_000_000, standardHeaders: 'draft-8', legacyHeaders: false }));

async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
  const [scheme, jwt] = (req.headers.authorization ?? '').split(' ');
  if (scheme !== 'Bearer' || !jwt) {
    res.status(401).json({ error: 'missing bearer token' });
    return;
  }
  try {
    const { payload } = await jwtVerify(jwt, JWKS, { issuer: process.env.AUTH_ISSUER, audience: process.env.AUTH_AUDIENCE });
    res.locals.grants = [...(Array.isArray(payload.roles) ? payload.roles : []), ...(typeof payload.scope === 'string' ? payload.scope.split(' ') : [])];
    next();
  } catch {
    res.status(401).json({ error: 'invalid token' });
  }
}

const requireGrant = (grant: string) => (_req: Request, res: Response, next: NextFunction) => {
  if ((res.locals.grants as string[]).includes(grant)) next();
  else res.status(403).json({ error: `requires ${grant}` });
};

const proxy = createProxyMiddleware({
  target: origin,
  changeOrigin: true,
  on: { proxyReq: (proxyReq) => proxyReq.setHeader('authorization', `Bearer ${token}`) },
});
app.post('/v3/campaigns/:id/run-report/:type', authenticate, requireGrant('CERT_ADMIN'), proxy);
app.get('/v3/campaigns/:id/reports', authenticate, requireGrant('CERT_ADMIN'), proxy);
app.get('/v3/non-employee-sources/:id/non-employees/download', authenticate, requireGrant('idn:nesr:read'), proxy);

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
