// The proxies compared: the gateway and its peers, each started in its own process on core 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { DevIssuer } from '../src/sandbox/issuer.ts';
import type { Tenant } from '../src/sandbox/tenant.ts';
import { PROXY_CORE, startGateway } from './support.ts';

export interface Proxy {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface Upstream {
  origin: string;
  token: string;
  gatewayEnv: Record<string, string>;
}

export const BENCH_CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret' };

/**
 * The gateway's budget set out of the way, for the scenarios that measure the cost of its path,
 * not the limit; 128 calls in flight, the size of @fastify/reply-from's upstream pool.
 */
export const BUDGET_OUT_OF_THE_WAY = {
  UPSTREAM_RATE_LIMIT: '100000', UPSTREAM_RATE_WINDOW_MS: '1000', UPSTREAM_RATE_BURST: '100000',
  UPSTREAM_MAX_CONCURRENCY: '128', UPSTREAM_QUEUE_SIZE: '100000', UPSTREAM_QUEUE_PER_CALLER: '100000',
};

/**
 * What every proxy needs to reach the tenant: the peers get an upstream token fetched here
 * (they do no client-credentials flow), the gateway its own configuration.
 */
export async function upstreamFor(tenant: Tenant, issuer: DevIssuer, extraGatewayEnv: Record<string, string> = {}): Promise<Upstream> {
  const response = await fetch(tenant.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: BENCH_CLIENT.clientId, client_secret: BENCH_CLIENT.clientSecret }),
  });
  const token = ((await response.json()) as { access_token: string }).access_token;
  return {
    origin: tenant.origin,
    token,
    gatewayEnv: {
      UPSTREAM_BASE_URL: tenant.origin, UPSTREAM_CLIENT_ID: BENCH_CLIENT.clientId, UPSTREAM_CLIENT_SECRET: BENCH_CLIENT.clientSecret,
      AUTH_JWKS_URL: issuer.jwksUrl, AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience,
      ...extraGatewayEnv,
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}

async function nodePeer(name: string, script: string, upstream: Upstream): Promise<Proxy> {
  // PEER_NODE_ARGS, like GATEWAY_NODE_ARGS for the gateway: node flags for a profile or a probe.
  const child = spawn('taskset', ['-c', PROXY_CORE, process.execPath, ...(process.env.PEER_NODE_ARGS ?? '').split(' ').filter(Boolean), script], {
    env: {
      PATH: process.env.PATH ?? '', NODE_ENV: 'production', UPSTREAM_ORIGIN: upstream.origin, UPSTREAM_TOKEN: upstream.token,
      // The typical BFF verifies callers as the gateway does.
      AUTH_JWKS_URL: upstream.gatewayEnv.AUTH_JWKS_URL ?? '', AUTH_ISSUER: upstream.gatewayEnv.AUTH_ISSUER ?? '', AUTH_AUDIENCE: upstream.gatewayEnv.AUTH_AUDIENCE ?? '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (!match) return;
      // Past start-up only its logs follow: drain them without keeping them.
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid as number, stop: stopper(child) };
}

async function nginxPeer(upstream: Upstream): Promise<Proxy | undefined> {
  if (spawnSync('sh', ['-c', 'command -v nginx']).status !== 0) return undefined;
  const prefix = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const port = await freePort();
  const origin = new URL(upstream.origin);
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; error_log stderr crit; pid ${prefix}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream tenant { server ${origin.host}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location /v3/ {
      proxy_pass http://tenant;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ${upstream.token}";
      proxy_buffering off;
    }
  }
}
`,
  );
  const child = spawn('taskset', ['-c', PROXY_CORE, 'nginx', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i += 1) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { name: 'nginx proxy_pass', url: `http://127.0.0.1:${port}`, pid: child.pid as number, stop: stopper(child) };
}

/** Starts one proxy by name; undefined when it cannot run here (nginx not installed). */
export async function startProxy(name: string, upstream: Upstream): Promise<Proxy | undefined> {
  switch (name) {
    case 'gateway': {
      const gateway = await startGateway(upstream.gatewayEnv);
      return { name: 'gateway (auth, policy, budget, retries, helmet, log)', ...gateway };
    }
    case 'reply-from':
      return nodePeer('@fastify/reply-from', 'bench/peers/reply-from.ts', upstream);
    case 'http-proxy-middleware':
      return nodePeer('http-proxy-middleware (Express)', 'bench/peers/http-proxy-middleware.ts', upstream);
    case 'typical-bff':
      return nodePeer(TYPICAL_BFF, 'bench/peers/typical-bff.ts', upstream);
    case 'bare-node':
      return nodePeer('node:http alone', 'bench/peers/bare-node.ts', upstream);
    case 'node-sha256':
      return nodePeer(NODE_SHA256, 'bench/peers/node-sha256.ts', upstream);
    case 'nginx':
      return nginxPeer(upstream);
    default:
      throw new Error(`unknown proxy ${name}`);
  }
}

export const TYPICAL_BFF = 'typical BFF (Express, jose, rate limit, pino-http, http-proxy-middleware)';

export const PROXIES = ['gateway', 'typical-bff', 'reply-from', 'http-proxy-middleware', 'nginx'];

export const NODE_SHA256 = 'node:http + undici + SHA-256, nothing else (the floor for hashing in Node)';

/** The CSV's targets: the proxies, and what hashing the bytes costs in Node with nothing around it. */
export const CSV_TARGETS = [...PROXIES, 'node-sha256'];

/** The peers that check the caller's token, and so get a real one. */
export const VERIFYING_PEERS = new Set(['gateway', 'typical-bff']);
