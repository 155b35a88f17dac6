import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createAuditSink } from '../src/audit/sink.ts';
import type { AuditRecord } from '../src/audit/record.ts';
import { parseConfig } from '../src/config.ts';
import { createGateway } from '../src/gateway.ts';
import { createLogger } from '../src/log.ts';
import { download, downloadThenLeave } from './support/download.ts';
import { startProcessSetup } from './support/gateway-process.ts';
import { CAMPAIGN, CLIENT_SECRET, eventually, exportPath, runReportPath, startHarness, targetEnv, type Harness } from './support/harness.ts';

const MiB = 1024 * 1024;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

type Audit = Record<string, unknown> & { outcome: string; requestId: string };

const auditsIn = (lines: Array<Record<string, unknown>>): Audit[] => lines.filter((l) => l.kind === 'audit') as Audit[];

describe('audit trail on stdout (one record per egress decision)', () => {
  let h: Harness;
  let caller: string;
  let callerToken: string;
  const auditFor = (requestId: string) => auditsIn(h.logs()).filter((a) => a.requestId === requestId);
  /** The single record of one request, once its exchange has ended. */
  async function onlyAuditFor(requestId: string): Promise<Audit> {
    await eventually(() => auditFor(requestId).length > 0, `the audit record of ${requestId}`);
    const records = auditFor(requestId);
    assert.equal(records.length, 1, 'exactly one record per request');
    return records[0] as Audit;
  }

  before(async () => {
    h = await startHarness({
      tenant: {
        sources: {
          small: { kind: 'bulk', blocks: 4, contentLength: true },
          big: { kind: 'bulk', blocks: 400, contentLength: false },
        },
      },
    });
    callerToken = await h.token({ sub: 'ana@example.com', roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' });
    caller = `Bearer ${callerToken}`;
  });
  after(() => h.close());

  it('When an export completes, then the record names who, what, the grant, and the SHA-256 and size of exactly the bytes sent', async () => {
    const result = await download(`${h.url}${exportPath('small')}`, caller, { headers: { traceparent: TRACEPARENT, 'x-request-id': 'audit-export-1' } });
    assert.equal(result.complete, true);
    const record = await onlyAuditFor('audit-export-1');
    assert.deepEqual(
      { ...record, time: undefined, durationMs: undefined, queueWaitMs: undefined, auditId: undefined },
      {
        kind: 'audit',
        schema: 2,
        time: undefined,
        auditId: undefined,
        requestId: 'audit-export-1',
        traceId: TRACE_ID,
        subject: 'ana@example.com',
        via: 'bearer',
        operation: 'exportNonEmployeeRecords',
        target: { sourceId: 'small' },
        decision: 'allowed',
        grant: 'scope:idn:nesr:read',
        error: null,
        status: 200,
        reachedUpstream: true,
        upstreamStatus: 200,
        attempts: 1,
        queueWaitMs: undefined,
        bytes: result.bytes,
        sha256: result.sha256,
        idempotentReplay: false,
        outcome: 'complete',
        durationMs: undefined,
      },
    );
    assert.equal(result.sha256, h.tenant.exports.sha256.at(-1), 'and it is what SailPoint sent');
    assert.ok(typeof record.durationMs === 'number' && typeof record.queueWaitMs === 'number');
    assert.ok(!Number.isNaN(Date.parse(String(record.time))));
    assert.match(String(record.auditId), /^[0-9a-f]{32}$/);
  });

  it('When two requests carry the same X-Request-Id, then their records still have ids of their own', async () => {
    for (let i = 0; i < 2; i += 1) await request(h.url).post(runReportPath()).set('Authorization', caller).set('X-Request-Id', 'reused-id');
    await eventually(() => auditFor('reused-id').length === 2, 'both records');
    const [a, b] = auditFor('reused-id') as [Audit, Audit];
    assert.notEqual(a.auditId, b.auditId);
    assert.notEqual(a.auditId, 'reused-id');
  });

  it('When the caller lacks the grant, then the refusal is recorded with its reason and nothing left', async () => {
    const token = await h.token({ sub: 'bob@example.com', roles: ['HELPDESK'] });
    const response = await request(h.url).get(exportPath('small')).set('Authorization', `Bearer ${token}`).set('X-Request-Id', 'audit-refused-1');
    assert.equal(response.status, 403);
    const record = await onlyAuditFor('audit-refused-1');
    assert.equal(record.subject, 'bob@example.com');
    assert.equal(record.decision, 'refused');
    assert.equal(record.grant, null);
    assert.equal(record.outcome, 'refused');
    assert.deepEqual(record.error, { code: 'ERR_FORBIDDEN', message: 'The caller lacks a grant this operation requires (any of: scope:idn:nesr:read).' });
    assert.equal(record.attempts, 0);
    assert.equal(record.upstreamStatus, null);
    assert.equal(record.sha256, null);
  });

  it('When the token is bad, then the refusal is recorded without a subject; requests outside the two routes leave no record', async () => {
    await request(h.url).post(runReportPath()).set('Authorization', 'Bearer not-a-jwt').set('X-Request-Id', 'audit-401');
    const record = await onlyAuditFor('audit-401');
    assert.equal(record.subject, null);
    assert.equal(record.outcome, 'refused');
    assert.equal((record.error as { code: string }).code, 'ERR_UNAUTHENTICATED');
    assert.equal(record.operation, 'startCampaignReport');

    await request(h.url).post(runReportPath(CAMPAIGN, 'NOT_A_TYPE')).set('Authorization', caller).set('X-Request-Id', 'audit-400');
    const bad = await onlyAuditFor('audit-400');
    assert.equal(bad.decision, 'allowed', 'the policy allowed it...');
    assert.equal(bad.outcome, 'refused', '...but the ids were refused');
    assert.equal((bad.error as { code: string }).code, 'ERR_BAD_REQUEST');
    assert.deepEqual(bad.target, {}, 'an unchecked id is never recorded');

    await request(h.url).get('/healthz').set('X-Request-Id', 'audit-none-1');
    await request(h.url).get('/v3/other').set('Authorization', caller).set('X-Request-Id', 'audit-none-2');
    await request(h.url).post(runReportPath()).set('Authorization', caller).set('X-Request-Id', 'audit-last');
    await onlyAuditFor('audit-last');
    assert.equal(auditFor('audit-none-1').length + auditFor('audit-none-2').length, 0);
  });

  it('When a report starts, and is repeated with the same Idempotency-Key, then both are recorded and the repeat is marked a replay with no upstream attempt', async () => {
    const first = await request(h.url).post(runReportPath()).set('Authorization', caller).set('Idempotency-Key', 'k-audit-1').set('X-Request-Id', 'audit-run-1');
    const again = await request(h.url).post(runReportPath()).set('Authorization', caller).set('Idempotency-Key', 'k-audit-1').set('X-Request-Id', 'audit-run-2');
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    const one = await onlyAuditFor('audit-run-1');
    const two = await onlyAuditFor('audit-run-2');
    assert.deepEqual(one.target, { campaignId: CAMPAIGN, reportType: 'CAMPAIGN_STATUS_REPORT' });
    assert.equal(one.grant, 'role:CERT_ADMIN');
    assert.equal(one.outcome, 'complete');
    assert.equal(one.upstreamStatus, 202);
    assert.equal(one.attempts, 1);
    assert.equal(one.bytes, 0, 'bytes counts only streamed CSV');
    assert.equal(two.idempotentReplay, true);
    assert.equal(two.attempts, 0);
  });

  it('When SailPoint fails after retries, then the outcome is upstream_failed with the attempts made', async () => {
    h.tenant.addFault('runReport', { kind: 'status', status: 503 }, 3);
    const response = await request(h.url).post(runReportPath()).set('Authorization', caller).set('X-Request-Id', 'audit-502');
    assert.equal(response.status, 502);
    const record = await onlyAuditFor('audit-502');
    assert.equal(record.outcome, 'upstream_failed');
    assert.equal(record.attempts, 3);
    assert.equal(record.upstreamStatus, 503);
    assert.equal((record.error as { code: string }).code, 'ERR_UPSTREAM_FAILED');
  });

  it('When the upstream fails mid-body, then the outcome is upstream_failed and the hash covers exactly the bytes the caller got', async () => {
    h.tenant.addFault('export', { kind: 'reset-mid-body', afterBytes: 3 * MiB });
    const result = await download(`${h.url}${exportPath('big')}`, caller, { headers: { 'x-request-id': 'audit-cut-upstream' } });
    assert.equal(result.complete, false);
    const record = await onlyAuditFor('audit-cut-upstream');
    assert.equal(record.outcome, 'upstream_failed');
    assert.equal(record.bytes, result.bytes);
    assert.equal(record.sha256, result.sha256);
  });

  it('When the caller goes away mid-download, then the outcome is caller_aborted with the bytes forwarded so far', async () => {
    await downloadThenLeave(`${h.url}${exportPath('big')}`, caller, 2 * MiB, { 'x-request-id': 'audit-cut-caller' });
    const record = await onlyAuditFor('audit-cut-caller');
    assert.equal(record.outcome, 'caller_aborted');
    assert.ok(Number(record.bytes) > 2 * MiB);
    assert.match(String(record.sha256), /^[0-9a-f]{64}$/);
  });

  it('When a drain runs out of time during a download, then the stream is cut visibly, recorded as cut_by_drain and counted', async () => {
    let reader: import('node:http').IncomingMessage | undefined;
    const cut = new Promise<boolean>((resolve) => {
      void download(`${h.url}${exportPath('big')}`, caller, {
        headers: { 'x-request-id': 'audit-drain' },
        onResponse: (res) => {
          reader = res;
          res.once('data', () => res.pause());
        },
      }).then((result) => resolve(result.complete));
    });
    await eventually(() => reader !== undefined, 'the download started');
    assert.equal(h.gateway.cutStreams(), 1);
    reader?.resume();
    assert.equal(await cut, false, 'the caller sees an incomplete download');
    const record = await onlyAuditFor('audit-drain');
    assert.equal(record.outcome, 'cut_by_drain');
    const metrics = (await request(h.url).get('/metrics')).text;
    assert.match(metrics, /^gateway_csv_streams_cut_total\{cause="drain"\} 1$/m);
  });

  it('never carries a token or a secret', () => {
    const raw = auditsIn(h.logs()).map((a) => JSON.stringify(a)).join('\n');
    assert.ok(raw.length > 0);
    assert.equal(raw.includes(callerToken), false);
    assert.equal(raw.includes(CLIENT_SECRET), false);
    for (const token of h.tenant.issuedTokens) assert.equal(raw.includes(token), false);
    assert.equal(raw.includes('not-a-jwt'), false, 'not even a malformed one');
  });
});


describe('audit trail when the caller leaves', () => {
  let h: Harness;
  let caller: string;
  before(async () => {
    h = await startHarness();
    caller = `Bearer ${await h.token({ sub: 'leaver', roles: ['CERT_ADMIN'] })}`;
  });
  after(() => h.close());
  const recordOf = async (requestId: string) => {
    await eventually(() => auditsIn(h.logs()).some((a) => a.requestId === requestId), `the audit record of ${requestId}`);
    return auditsIn(h.logs()).find((a) => a.requestId === requestId) as Audit;
  };
  const linesOf = (requestId: string) => h.logs().filter((l) => l.requestId === requestId && l.kind !== 'audit');

  it('When the caller leaves after the report POST was sent, then the record says it reached SailPoint, and no error line or stack is logged', async () => {
    h.tenant.addFault('runReport', { kind: 'delay-headers', ms: 300 });
    const posts = h.tenant.requests.length;
    const abort = new AbortController();
    const gone = fetch(`${h.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller, 'x-request-id': 'left-after' }, signal: abort.signal }).catch((e: Error) => e);
    await eventually(() => h.tenant.requests.length === posts + 1, 'the POST reached the tenant');
    abort.abort();
    await gone;
    const record = await recordOf('left-after');
    assert.equal(record.outcome, 'caller_left_after_sending');
    assert.equal(record.reachedUpstream, true);
    assert.equal(record.status, null, 'nothing was answered: the caller was gone');
    await eventually(() => linesOf('left-after').some((l) => l.msg === 'caller left before the answer'), 'the caller-left line');
    const lines = linesOf('left-after');
    assert.deepEqual(lines.filter((l) => l.level === 'error' || l.level === 'fatal'), []);
    assert.ok(!JSON.stringify(lines).includes('stack'), 'no stack trace');
    assert.equal(lines.find((l) => l.msg === 'caller left before the answer')?.level, 'info');
  });

  it('When the caller leaves while its call waits for budget, then the record says nothing reached SailPoint', async () => {
    // An upstream 429 with Retry-After: 2 pauses every call: the next one waits in the queue.
    h.tenant.addFault('runReport', { kind: 'status', status: 429, retryAfter: '2' }, 3);
    const before = h.tenant.requests.length;
    const first = request(h.url).post(runReportPath()).set('Authorization', caller).then((r) => r, (e: Error) => e);
    await eventually(() => h.tenant.requests.length === before + 1, 'the 429 was answered');
    const posts = h.tenant.requests.length;
    const abort = new AbortController();
    const gone = fetch(`${h.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller, 'x-request-id': 'left-before' }, signal: abort.signal }).catch((e: Error) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    abort.abort();
    await gone;
    const record = await recordOf('left-before');
    assert.equal(record.outcome, 'caller_left_before_sending');
    assert.equal(record.reachedUpstream, false);
    assert.equal(record.attempts, 0);
    assert.equal(h.tenant.requests.length, posts, 'it never reached the tenant');
    await first;
  });
});

describe('audit trail in its own file', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-'));
    // Logging silenced: the audit trail does not depend on the log level.
    h = await startHarness({ env: { AUDIT_LOG: join(dir, 'audit.jsonl'), LOG_LEVEL: 'silent' }, tenant: { sources: { s: { kind: 'bulk', blocks: 8, contentLength: true } } } });
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When AUDIT_LOG is a path, then records go there (not to stdout) and read back with the bytes sent', async () => {
    const caller = `Bearer ${await h.token({ sub: 'eve@example.com', scope: 'idn:nesr:read' })}`;
    const result = await download(`${h.url}${exportPath('s')}`, caller, { headers: { 'x-request-id': 'file-1' } });
    assert.equal(result.complete, true);
    const read = () =>
      readFileSync(join(dir, 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Audit);
    await eventually(() => read().some((a) => a.requestId === 'file-1'), 'the record in the file');
    const record = read().find((a) => a.requestId === 'file-1') as Audit;
    assert.equal(record.kind, 'audit');
    assert.equal(record.subject, 'eve@example.com');
    assert.equal(record.sha256, result.sha256);
    assert.equal(record.bytes, result.bytes);
    assert.equal(record.outcome, 'complete');
    assert.equal(auditsIn(h.logs()).length, 0, 'nothing on stdout');
  });

  it('When audit writes start failing (a full disk), then the gateway logs it at error level, keeps serving and still exits 0', async () => {
    // A process of its own: the failed file must not hold up the exit that a drain ends with.
    const setup = await startProcessSetup({ campaigns: [CAMPAIGN] }, { AUDIT_LOG: '/dev/full' });
    try {
      const caller = `Bearer ${await setup.issuer.mint({ roles: ['CERT_ADMIN'] })}`;
      const call = () => fetch(`${setup.gateway.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller } }).then((r) => r.status);
      assert.equal(await call(), 202);
      await eventually(() => /"level":"error".*"msg":"audit record could not be written"/.test(setup.gateway.stdout()), 'the write failure logged');
      assert.equal(await call(), 202, 'still serving');
      assert.equal(await setup.gateway.stop(), 0);
    } finally {
      await setup.close();
    }
  });

  it('When the disk has room again, then the next record opens the file again and the trail resumes', async () => {
    // AUDIT_LOG is a link: to /dev/full (every write fails, as on a full disk), then to a file.
    const path = join(dir, 'resume.jsonl');
    const file = join(dir, 'resume-target.jsonl');
    symlinkSync('/dev/full', path);
    const setup = await startProcessSetup({ campaigns: [CAMPAIGN] }, { AUDIT_LOG: path });
    try {
      const caller = `Bearer ${await setup.issuer.mint({ roles: ['CERT_ADMIN'] })}`;
      const call = (requestId: string) =>
        fetch(`${setup.gateway.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller, 'x-request-id': requestId } }).then((r) => r.status);
      assert.equal(await call('lost-1'), 202);
      await eventually(() => /"msg":"audit record could not be written"/.test(setup.gateway.stdout()), 'the write failure logged');
      symlinkSync(file, `${path}.next`);
      renameSync(`${path}.next`, path);
      assert.equal(existsSync(file), false, 'nothing has opened the file yet');
      assert.equal(await call('kept-2'), 202);
      assert.equal(await call('kept-3'), 202);
      await eventually(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').filter(Boolean).length === 2, 'two records in the file');
      const ids = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as Audit).requestId);
      assert.deepEqual(ids, ['kept-2', 'kept-3']);
      assert.equal(setup.gateway.stdout().match(/audit record could not be written/g)?.length, 1, 'one failure, logged once');
    } finally {
      await setup.close();
    }
  });

  it('When the file ends part-way through a line (a write cut short, a process killed mid-write), then the next record starts on a line of its own', () => {
    const path = join(dir, 'cut.jsonl');
    writeFileSync(path, '{"kind":"audit","schema":2,"auditId":"whole"}\n{"kind":"audit","sch');
    const sink = createAuditSink({ kind: 'file', path }, createLogger('silent'));
    sink.write({ kind: 'audit', auditId: 'next' } as unknown as AuditRecord);
    sink.flush();
    assert.deepEqual(readFileSync(path, 'utf8').split('\n'), ['{"kind":"audit","schema":2,"auditId":"whole"}', '{"kind":"audit","sch', '{"kind":"audit","auditId":"next"}', '']);
    // A file that ends whole gets no blank line.
    sink.write({ kind: 'audit', auditId: 'after' } as unknown as AuditRecord);
    const again = createAuditSink({ kind: 'file', path }, createLogger('silent'));
    again.write({ kind: 'audit', auditId: 'reopened' } as unknown as AuditRecord);
    assert.deepEqual(readFileSync(path, 'utf8').split('\n').slice(2), ['{"kind":"audit","auditId":"next"}', '{"kind":"audit","auditId":"after"}', '{"kind":"audit","auditId":"reopened"}', '']);
  });

  it('When AUDIT_LOG cannot be written, then the gateway refuses to start with a line naming it', async () => {
    const parsed = parseConfig({ ...targetEnv(h.tenant, h.issuer), AUDIT_LOG: '/proc/no-such-dir/audit.jsonl' });
    assert.ok(parsed.ok && parsed.config.targets);
    assert.throws(() => createGateway(parsed.config, parsed.config.targets!, createLogger('silent')), /^Error: AUDIT_LOG cannot be written: ENOENT/);
  });
});

describe('audit trail on stdout with logging silenced', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'silent' } });
  });
  after(() => h.close());

  it('When LOG_LEVEL=silent, then no log line is written but every audit record still is', async () => {
    const caller = `Bearer ${await h.token({ sub: 'quiet@example.com', roles: ['CERT_ADMIN'] })}`;
    const response = await request(h.url).post(runReportPath()).set('Authorization', caller).set('X-Request-Id', 'silent-1');
    assert.equal(response.status, 202);
    await eventually(() => auditsIn(h.logs()).some((a) => a.requestId === 'silent-1'), 'the audit record');
    assert.deepEqual(h.logs().filter((l) => l.kind !== 'audit'), [], 'no log lines');
    assert.equal(auditsIn(h.logs()).find((a) => a.requestId === 'silent-1')?.subject, 'quiet@example.com');
  });
});
