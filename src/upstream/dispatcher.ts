import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import type { Config } from '../config.ts';

/** The keep-alive connection pool every upstream call and token fetch goes through. */
export function createDispatcher(config: Pick<Config, 'upstream' | 'proxy'>): Dispatcher {
  const options: Agent.Options = {
    // One connection per call admission lets run at once, plus one for the token endpoint: a burst
    // queues in admission (fairly, with an honest Retry-After) instead of opening connections.
    connections: config.upstream.maxConcurrency + config.upstream.exportConcurrency + 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    // undici's defaults are 300 s; each request sets its own, these are the ceilings.
    headersTimeout: config.upstream.timeoutMs,
    bodyTimeout: config.upstream.streamIdleTimeoutMs,
    connect: { timeout: Math.min(config.upstream.timeoutMs, 10_000) },
  };
  if (config.proxy.httpsProxy) {
    return new EnvHttpProxyAgent({ ...options, httpsProxy: config.proxy.httpsProxy, httpProxy: config.proxy.httpsProxy, noProxy: config.proxy.noProxy ?? '' });
  }
  return new Agent(options);
}
