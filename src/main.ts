// The process: read config, build the gateway, listen, drain on SIGTERM/SIGINT.
// The only module with side effects at the top level of its job.
import { once } from 'node:events';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatProblems, parseConfig, type Targets } from './config.ts';
import { createGateway } from './gateway.ts';
import { expressPrototypes } from './http/express-prototypes.ts';
import { createHttpServer } from './http/server.ts';
import { memoryReducerOff, setHeapGrowth } from './heap-growth.ts';
import { createLogger } from './log.ts';
import { readProcessLimits } from './process-limits.ts';
import type { Sandbox } from './sandbox/start.ts';

const EXIT_FLUSH_MS = 5000;

async function main(): Promise<void> {
  const heapGrowth = setHeapGrowth();
  const parsed = parseConfig(process.env, readProcessLimits());
  if (!parsed.ok) {
    process.stderr.write(`${formatProblems(parsed.problems)}\n`);
    process.exit(1);
  }
  const { config } = parsed;
  const logger = createLogger(config.logLevel);

  let sandbox: Sandbox | undefined;
  let targets: Targets;
  if (config.targets) {
    targets = config.targets;
  } else {
    // Loaded only in sandbox mode: the simulated tenant and its OpenID Connect provider
    // (oidc-provider, koa: about 200 modules) would otherwise sit in every production gateway's heap.
    sandbox = await (await import('./sandbox/start.ts')).startSandbox();
    targets = sandbox.targets;
    logger.warn('SANDBOX MODE: serving a simulated tenant; set UPSTREAM_BASE_URL for a real one');
  }

  // Listen first: in sandbox mode the sandbox's identity provider must know the gateway's
  // address (its redirect URI) before the gateway is built against it.
  let handle: RequestListener = (_req, res) => void res.writeHead(503, { 'retry-after': '1' }).end();
  let countRefused = () => {};
  const prototypes = expressPrototypes();
  const server = createHttpServer((req, res) => handle(req, res), config.server, () => countRefused(), prototypes);
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const sessions = sandbox && !config.sessions ? await sandbox.startSessions(`http://127.0.0.1:${port}`) : config.sessions;

  let gateway;
  try {
    gateway = createGateway(Object.freeze({ ...config, sessions }), targets, logger, { frontEnd: sandbox?.frontEnd });
  } catch (error) {
    process.stderr.write(`${formatProblems([(error as Error).message])}\n`);
    process.exit(1);
  }
  const startProblems = await gateway.startProblems();
  if (startProblems.length > 0) {
    process.stderr.write(`${formatProblems(startProblems)}\n`);
    process.exit(1);
  }
  prototypes.adopt(gateway.app.express);
  handle = gateway.app.listener;
  const metrics = gateway.metrics;
  countRefused = () => metrics.connectionsRefused.inc();
  logger.info({ heapGrowth, memoryReducer: memoryReducerOff() ? 'off' : 'on', host: config.host, port }, 'gateway listening');
  const admin = gateway.adminApp && createHttpServer(gateway.adminApp, config.server, countRefused);
  if (admin) {
    admin.listen(config.adminPort, config.adminHost);
    await once(admin, 'listening');
    logger.info({ host: config.adminHost, port: (admin.address() as AddressInfo).port }, 'admin listening (/metrics, /healthz, /readyz)');
  }
  await gateway.warm();
  if (sandbox) process.stdout.write(`${sandbox.banner(`http://127.0.0.1:${port}`)}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
    gateway.startDraining();
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    // What has not finished by the drain deadline (a slow CSV download) is cut, never ended
    // cleanly: the caller sees an incomplete download, not a short file that looks whole.
    const deadline = setTimeout(() => {
      const streams = gateway.cutStreams();
      logger.warn({ streams }, 'drain time over: cutting the connections still open');
      server.closeAllConnections();
    }, config.drainTimeoutMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
    admin?.closeAllConnections();
    await new Promise((resolve) => (admin ? admin.close(resolve) : resolve(undefined)));
    await gateway.close();
    await sandbox?.close();
    logger.info('stopped');
    // The last lines wait for a slow log reader, but one that takes nothing does not hold the
    // exit for ever: after this long what is left is lost.
    setTimeout(() => process.exit(0), EXIT_FLUSH_MS).unref();
    logger.flush(() => process.exit(0));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
