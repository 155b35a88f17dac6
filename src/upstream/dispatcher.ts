import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import type { Config } from '../config.ts';

/**
 * The gateway's one way out: the keep-alive pool every outbound request goes through (SailPoint's
 * API, its token endpoint, the caller-key JWKS), so HTTPS_PROXY and NO_PROXY apply to all of them.
 */
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

/** A fetch() for libraries that take one (jose's JWKS), going out through the same dispatcher. */
export function fetchThrough(dispatcher: Dispatcher): typeof fetch {
  return ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as typeof fetch;
}
