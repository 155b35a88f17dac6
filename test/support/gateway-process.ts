// Runs the gateway as its own process (as in production), so its memory and its signal handling
// can be observed from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startDevIssuer, type DevIssuer } from '../../src/sandbox/issuer.ts';
import { startTenant, type Tenant, type TenantOptions } from '../../src/sandbox/tenant.ts';
import { CLIENT_ID, CLIENT_SECRET, eventually, targetEnv } from './harness.ts';
import { NODE_FLAGS } from '../../src/heap-growth.ts';
import { findLeaks } from './secret-scan.ts';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resident set size now and at its peak (VmHWM), in bytes, from /proc. */
  memory(): { rssBytes: number; peakBytes: number };
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

export interface ProcessOptions {
  /** The process's limit on open file descriptors (ulimit -n). */
  fdLimit?: number;
  /** Node.js options before the script, such as --import, after the gateway's own (NODE_FLAGS). */
  nodeArgs?: string[];
}

export async function startGatewayProcess(env: Record<string, string>, options: ProcessOptions = {}): Promise<GatewayProcess> {
  const script = [...NODE_FLAGS, ...(options.nodeArgs ?? []), 'src/main.ts'];
  const [command, args] =
    options.fdLimit === undefined
      ? [process.execPath, script]
      : ['sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, process.execPath, ...script]];
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let port = 0;
  await eventually(() => {
    const match = /"port":(\d+),"msg":"gateway listening"/.exec(out);
    if (match) port = Number(match[1]);
    return port > 0 || child.exitCode !== null;
  }, 'gateway process listening', 20_000);
  if (port === 0) throw new Error(`gateway process exited: ${err}`);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    memory: () => ({ rssBytes: statusField(child.pid as number, 'VmRSS'), peakBytes: statusField(child.pid as number, 'VmHWM') }),
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface ProcessSetup {
  tenant: Tenant;
  issuer: DevIssuer;
  gateway: GatewayProcess;
  close(): Promise<void>;
}

/** A simulated tenant and an issuer in this process, and a gateway process pointed at them. */
export async function startProcessSetup(tenantOptions: Partial<TenantOptions>, env: Record<string, string> = {}, options: ProcessOptions = {}): Promise<ProcessSetup> {
  const tenant = await startTenant({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, rateLimit: null, ...tenantOptions });
  const issuer = await startDevIssuer();
  const gateway = await startGatewayProcess({ ...targetEnv(tenant, issuer), ...env }, options);
  return {
    tenant,
    issuer,
    gateway,
    async close() {
      await gateway.stop();
      await Promise.all([tenant.close(), issuer.close()]);
      // The same scan as the in-process harness, over what the process wrote.
      const leaks = findLeaks(
        {
          named: [{ what: 'the client secret', value: CLIENT_SECRET }, ...tenant.issuedTokens.map((value) => ({ what: 'an upstream token', value }))],
          signatures: { what: 'a caller token', values: new Set(issuer.mintedSignatures) },
        },
        [{ where: "the gateway process's output", text: gateway.stdout() + gateway.stderr() }],
      );
      if (leaks.length > 0) throw new Error(`no secret reaches a log: ${leaks.join('; ')}`);
    },
  };
}
