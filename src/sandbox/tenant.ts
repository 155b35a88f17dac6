// A simulated IdentityNow tenant on loopback: the token endpoint, the v3 operations of the
// gateway's operation table, SailPoint's rate limit and error shapes, and switches for faults.
// Sandbox mode runs it in-process; the test suite and the benchmarks use it as their upstream.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createHash, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { REPORT_TYPES, type ReportType } from '../operations/params.ts';
import { OPERATIONS, pathPattern, type OperationName } from '../operations/table.ts';
import { createReportStore, type ReportStore } from './reports.ts';
import { BULK_BATCH, bulkBlocks, bulkCsvLength, CSV_HEADER } from './csv.ts';

/** The names faults and recorded requests go by: one per operation of the table, and the token endpoint. */
export type Operation = 'runReport' | 'listReports' | 'reportFile' | 'export' | 'token';

const FAULT_NAME: Record<OperationName, Exclude<Operation, 'token'>> = {
  startCampaignReport: 'runReport',
  getCampaignReports: 'listReports',
  getReport: 'reportFile',
  exportNonEmployeeRecords: 'export',
};

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown }
  | { kind: 'reset-before-headers' }
  | { kind: 'stall-headers' }
  | { kind: 'delay-headers'; ms: number }
  /** Send headers and `afterBytes` of the body, then reset the connection. */
  | { kind: 'reset-mid-body'; afterBytes: number }
  /** Export only: send headers and `afterBytes` of the body, then go silent. */
  | { kind: 'stall-body'; afterBytes: number };

export type CsvSource =
  | { kind: 'fixed'; body: Buffer; contentLength: boolean }
  | { kind: 'bulk'; blocks: number; contentLength: boolean };

export interface RecordedRequest {
  /** performance.now() at arrival, for sliding-window checks. */
  atMs: number;
  operation: Operation;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface TenantOptions {
  clientId: string;
  clientSecret: string;
  tokenLifetimeS?: number;
  /** SailPoint's limit: 100 requests per 10 s per client id. null disables it. */
  rateLimit?: { limit: number; windowMs: number } | null;
  campaigns?: string[];
  sources?: Record<string, CsvSource>;
  port?: number;
  /** Keep every API request in `requests` (tests); benchmarks turn it off. */
  record?: boolean;
  /** A started report turns from PENDING to SUCCESS after this long. */
  reportReadyMs?: number;
}

export interface ExportStats {
  started: number;
  completed: number;
  /** The caller (the gateway) closed the connection before the body was complete. */
  aborted: number;
  bytesWritten: number;
  /** SHA-256 of each completed body, as the tenant wrote it. */
  sha256: string[];
}

export interface Tenant {
  origin: string;
  tokenUrl: string;
  requests: RecordedRequest[];
  tokenRequests: number;
  /** Every access token handed out, so tests can prove none of them reaches a log. */
  issuedTokens: string[];
  rateLimited: number;
  exports: ExportStats;
  /** Report file downloads, counted like exports. */
  reportFiles: ExportStats;
  reports: ReportStore;
  addFault(operation: Operation, fault: Fault, times?: number): void;
  clearFaults(): void;
  /** Every token issued so far stops working: the next API call answers 401. */
  revokeTokens(): void;
  setSource(id: string, source: CsvSource): void;
  close(): Promise<void>;
}

const errorBody = (detailCode: string, text: string) => ({
  detailCode,
  trackingId: randomBytes(16).toString('hex'),
  messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text }],
  causes: [],
});

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes with backpressure; resolves false if the connection closed first. */
async function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

export async function startTenant(options: TenantOptions): Promise<Tenant> {
  const faults: Record<Operation, Fault[]> = { runReport: [], listReports: [], reportFile: [], export: [], token: [] };
  const reports = createReportStore(options.reportReadyMs ?? 1000);
  const tokens = new Map<string, number>();
  const arrivals: number[] = [];
  const sockets = new Set<Socket>();
  const campaigns = new Set(options.campaigns ?? []);
  const sources = new Map(Object.entries(options.sources ?? {}));
  const rateLimit = options.rateLimit === undefined ? { limit: 100, windowMs: 10_000 } : options.rateLimit;

  const tenant: Tenant = {
    origin: '',
    tokenUrl: '',
    requests: [],
    tokenRequests: 0,
    issuedTokens: [],
    rateLimited: 0,
    exports: { started: 0, completed: 0, aborted: 0, bytesWritten: 0, sha256: [] },
    reportFiles: { started: 0, completed: 0, aborted: 0, bytesWritten: 0, sha256: [] },
    reports,
    addFault(operation, fault, times = 1) {
      for (let i = 0; i < times; i += 1) faults[operation].push(fault);
    },
    clearFaults() {
      for (const list of Object.values(faults)) list.length = 0;
    },
    revokeTokens() {
      tokens.clear();
    },
    setSource(id, source) {
      sources.set(id, source);
    },
    async close() {
      reports.close();
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close');
    },
  };

  /** Applies a fault that acts before the answer; returns true when it took over the response. */
  async function applyFault(fault: Fault | undefined, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (fault === undefined) return false;
    switch (fault.kind) {
      case 'status':
        sendJson(res, fault.status, fault.body ?? statusBody(fault.status), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
        return true;
      case 'reset-before-headers':
        req.socket.destroy();
        return true;
      case 'stall-headers':
        return true;
      case 'delay-headers':
        // Unref'd: a delay still running when a test ends must not hold its process open.
        await new Promise((resolve) => setTimeout(resolve, fault.ms).unref());
        return false;
      default:
        return false;
    }
  }

  function statusBody(status: number): unknown {
    if (status === 401) return { error: 'JWT validation failed: JWT is expired' };
    if (status === 429) return { message: ' Rate Limit Exceeded ' };
    if (status === 404) return errorBody('404 Not found', 'The server did not find a current representation for the target resource.');
    if (status === 403) return errorBody('403 Forbidden', 'The server understood the request but refuses to authorize it.');
    if (status === 400) return errorBody('400.1 Bad Request Content', 'The request was syntactically correct but its content is semantically invalid.');
    return errorBody(`${status}.0 Internal Fault`, 'An internal fault occurred.');
  }

  function authorized(req: IncomingMessage): boolean {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const expiresAt = match ? tokens.get(match[1] as string) : undefined;
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  /** SailPoint's sliding limit; answers 429 with Retry-After when over it. */
  function overLimit(res: ServerResponse): boolean {
    if (rateLimit === null) return false;
    const now = performance.now();
    while (arrivals.length > 0 && (arrivals[0] as number) <= now - rateLimit.windowMs) arrivals.shift();
    if (arrivals.length >= rateLimit.limit) {
      tenant.rateLimited += 1;
      const waitS = Math.ceil(((arrivals[0] as number) + rateLimit.windowMs - now) / 1000);
      sendJson(res, 429, { message: ' Rate Limit Exceeded ' }, { 'retry-after': String(Math.max(1, waitS)) });
      return true;
    }
    arrivals.push(now);
    return false;
  }

  async function issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    tenant.tokenRequests += 1;
    const form = new URLSearchParams(await readBody(req));
    if (await applyFault(faults.token.shift(), req, res)) return;
    if (
      form.get('grant_type') !== 'client_credentials' ||
      form.get('client_id') !== options.clientId ||
      form.get('client_secret') !== options.clientSecret
    ) {
      sendJson(res, 401, { error: 'invalid_client', error_description: 'Bad credentials' });
      return;
    }
    const lifetimeS = options.tokenLifetimeS ?? 749;
    const token = randomBytes(24).toString('hex');
    tokens.set(token, Date.now() + lifetimeS * 1000);
    tenant.issuedTokens.push(token);
    sendJson(res, 200, { access_token: token, token_type: 'bearer', expires_in: lifetimeS, scope: 'sp:scopes:all', tenant_id: 'sandbox' });
  }

  async function streamBody(res: ServerResponse, source: CsvSource, fault: Fault | undefined, stats: ExportStats, contentType: string): Promise<void> {
    stats.started += 1;
    const length = source.kind === 'fixed' ? source.body.length : bulkCsvLength(source.blocks);
    const headers: Record<string, string | number> = { 'content-type': contentType };
    if (source.contentLength) headers['content-length'] = length;
    res.writeHead(200, headers);
    // A benchmark's tenant (record: false) hashes nothing: it must stream faster than any proxy.
    const hash: Hash | undefined = options.record === false ? undefined : createHash('sha256');
    let sent = 0;
    const cutAt = fault && (fault.kind === 'reset-mid-body' || fault.kind === 'stall-body') ? fault.afterBytes : Infinity;

    const emit = async (chunk: Buffer): Promise<boolean> => {
      let piece = chunk;
      if (sent + piece.length > cutAt) piece = piece.subarray(0, cutAt - sent);
      hash?.update(piece);
      sent += piece.length;
      stats.bytesWritten += piece.length;
      const open = await write(res, piece);
      return open && sent < cutAt;
    };

    let open = true;
    if (source.kind === 'fixed') {
      for (let offset = 0; open && offset < source.body.length; offset += 64 * 1024) {
        open = await emit(source.body.subarray(offset, offset + 64 * 1024));
      }
    } else {
      open = await emit(Buffer.from(CSV_HEADER));
      // Blocks in batches of about 1 MiB: one write and one await per batch, not per block.
      for (let n = 0; open && n < source.blocks; n += BULK_BATCH) open = await emit(bulkBlocks(n, Math.min(BULK_BATCH, source.blocks - n)));
    }

    if (sent >= cutAt && fault) {
      if (fault.kind === 'reset-mid-body') {
        // Long enough for the headers and the first bytes to reach the gateway before the reset:
        // a cut the caller sees, not one the gateway can still retry whole.
        await new Promise((resolve) => setTimeout(resolve, 50));
        res.socket?.resetAndDestroy();
      }
      return; // stall-body: leave the connection open and silent
    }
    if (!open || res.destroyed) {
      stats.aborted += 1;
      return;
    }
    res.end();
    stats.completed += 1;
    if (hash) stats.sha256.push(hash.digest('hex'));
  }

  /** A report answer that promises more than it sends: headers and part of the JSON, then a reset. */
  async function cutReport(res: ServerResponse, afterBytes: number): Promise<void> {
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': String(afterBytes + 1000) });
    res.write(`{"padding":"${'x'.repeat(Math.max(0, afterBytes - 13))}`);
    // Long enough for the headers and the first bytes to arrive before the reset does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    res.socket?.resetAndDestroy();
  }

  /** What each operation of the table does here, once faults, authentication and the rate limit have passed. */
  const answers: Record<OperationName, (values: string[], query: URLSearchParams, res: ServerResponse, fault: Fault | undefined) => Promise<void> | void> = {
    startCampaignReport([id, type], _query, res) {
      if (!(REPORT_TYPES as readonly string[]).includes(type as string)) return sendJson(res, 400, statusBody(400));
      if (!campaigns.has(id as string)) return sendJson(res, 404, statusBody(404));
      reports.start(id as string, type as ReportType);
      return sendJson(res, 202, {});
    },
    getCampaignReports([id], _query, res) {
      if (!campaigns.has(id as string)) return sendJson(res, 404, statusBody(404));
      return sendJson(res, 200, reports.list(id as string));
    },
    async getReport([id], query, res, fault) {
      const format = query.get('fileFormat');
      if (format !== 'csv' && format !== 'pdf') return sendJson(res, 400, statusBody(400));
      const body = reports.file(id as string, format);
      if (!body) return sendJson(res, 404, statusBody(404));
      await streamBody(res, { kind: 'fixed', body, contentLength: true }, fault, tenant.reportFiles, format === 'pdf' ? 'application/pdf' : 'text/csv;charset=utf-8');
    },
    async exportNonEmployeeRecords([id], _query, res, fault) {
      const source = sources.get(id as string);
      if (!source) return sendJson(res, 404, statusBody(404));
      await streamBody(res, source, fault, tenant.exports, 'text/csv;charset=utf-8');
    },
  };

  async function api(name: OperationName, match: RegExpExecArray, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const operation = FAULT_NAME[name];
    if (options.record !== false) tenant.requests.push({ atMs: performance.now(), operation, method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    await readBody(req);
    const fault = faults[operation].shift();
    if (await applyFault(fault, req, res)) return;
    if (name === 'startCampaignReport' && fault?.kind === 'reset-mid-body') return cutReport(res, fault.afterBytes);
    if (!authorized(req)) {
      sendJson(res, 401, { error: 'JWT validation failed: JWT is expired' });
      return;
    }
    if (overLimit(res)) return;
    const values = match.slice(1).map((v) => decodeURIComponent(v));
    await answers[name](values, new URLSearchParams((req.url ?? '').split('?')[1] ?? ''), res, fault);
  }

  // SailPoint's paths, from the gateway's own table: segments non-empty, and the query string
  // (req.url carries it) left for the operation to read.
  const routes = OPERATIONS.map((op) => ({
    op,
    pattern: new RegExp(pathPattern(op).source.replaceAll('([^/]*)', '([^/?]+)').replace(/\$$/, '(?:\\?.*)?$')),
  }));

  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const handle = async () => {
      let match: RegExpExecArray | null;
      if (req.method === 'POST' && path === '/oauth/token') return issueToken(req, res);
      for (const { op, pattern } of routes) if (req.method === op.method && (match = pattern.exec(path))) return api(op.name, match, req, res);
      if (req.method === 'POST' && path === '/__sandbox/faults') {
        const { operation, fault, times } = JSON.parse(await readBody(req)) as { operation: Operation; fault: Fault; times?: number };
        tenant.addFault(operation, fault, times);
        return sendJson(res, 200, { queued: times ?? 1 });
      }
      return sendJson(res, 404, statusBody(404));
    };
    handle().catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  tenant.origin = `http://127.0.0.1:${port}`;
  tenant.tokenUrl = `${tenant.origin}/oauth/token`;
  return tenant;
}
