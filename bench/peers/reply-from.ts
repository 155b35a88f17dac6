// Peer: @fastify/reply-from, proxying plainly (no caller auth) with the upstream token added.
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const origin = process.env.UPSTREAM_ORIGIN as string;
const token = process.env.UPSTREAM_TOKEN as string;
const app = Fastify({ logger: false });
await app.register(replyFrom, { base: origin });
// Accept any body type untouched: the proxy forwards, it does not parse.
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, _payload, done) => done(null));
const forward = (request: { url: string }, reply: { from: (url: string, options: object) => void }) =>
  reply.from(request.url, { rewriteRequestHeaders: (_req: unknown, headers: Record<string, string>) => ({ ...headers, authorization: `Bearer ${token}` }) });
app.post('/v3/campaigns/:id/run-report/:type', forward);
app.get('/v3/non-employee-sources/:id/non-employees/download', forward);
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
console.log(`listening ${address.port}`);
