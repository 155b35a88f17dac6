// Peer: http-proxy-middleware on Express, proxying plainly (no caller auth) with the upstream token.
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

const origin = process.env.UPSTREAM_ORIGIN as string;
const token = process.env.UPSTREAM_TOKEN as string;
const app = express();
app.disable('x-powered-by');
app.use(
  createProxyMiddleware({
    target: origin,
    changeOrigin: true,
    pathFilter: ['/v3/campaigns', '/v3/non-employee-sources'],
    on: { proxyReq: (proxyReq) => proxyReq.setHeader('authorization', `Bearer ${token}`) },
  }),
);
const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
