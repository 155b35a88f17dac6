import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bulkBlocksFor } from '../src/sandbox/csv.ts';
import type { Tenant } from '../src/sandbox/tenant.ts';
import { startProcessSetup, type GatewayProcess, type ProcessSetup } from './support/gateway-process.ts';
import { CAMPAIGN, eventually, exportPath, runReportPath } from './support/harness.ts';

describe('graceful drain on SIGTERM (real process, real signal)', () => {
  let setup: ProcessSetup;
  let tenant: Tenant;
  let gateway: GatewayProcess;
  let caller: string;

  before(async () => {
    setup = await startProcessSetup(
      { campaigns: [CAMPAIGN], sources: { huge: { kind: 'bulk', blocks: bulkBlocksFor(1024 * 1024 * 1024), contentLength: false } } },
      { DRAIN_TIMEOUT_MS: '1500' },
    );
    ({ tenant, gateway } = setup);
    caller = `Bearer ${await setup.issuer.mint({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
  });
  after(() => setup.close());

  it('When SIGTERM arrives during a slow download and a JSON call, then the call finishes, the download is cut visibly after the drain time, and the process exits 0', async () => {
    // A download whose reader has stalled: it can never finish within the drain time.
    let reader: IncomingMessage | undefined;
    const download = new Promise<{ complete: boolean; bytes: number }>((resolve, reject) => {
      const req = get(`${gateway.url}${exportPath('huge')}`, { headers: { authorization: caller } }, (res) => {
        reader = res;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          res.pause();
        });
        res.on('error', () => {});
        res.on('close', () => resolve({ complete: res.complete, bytes }));
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    });
    await eventually(() => tenant.exports.started === 1, 'the export started');

    // A JSON call that is in flight when the signal arrives (SailPoint answers after 500 ms).
    tenant.addFault('runReport', { kind: 'delay-headers', ms: 500 });
    const report = fetch(`${gateway.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller } });
    await eventually(() => tenant.requests.some((r) => r.operation === 'runReport'), 'the report call reached the tenant');

    gateway.child.kill('SIGTERM');
    await eventually(() => gateway.stdout().includes('"msg":"draining"'), 'the drain began');
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED', 'no new connection is taken while draining');
    assert.equal((await report).status, 202, 'the in-flight JSON call finished');
    assert.equal(await gateway.exited, 0);
    // The slow reader now reads what reached it, and then finds the download cut short.
    reader?.resume();
    reader?.on('data', () => reader?.resume());
    const cut = await download;
    assert.equal(cut.complete, false, 'the download was cut, never ended cleanly');
    assert.ok(cut.bytes > 0);
    assert.match(gateway.stdout(), /"signal":"SIGTERM".*"msg":"draining"/);
    assert.match(gateway.stdout(), /drain time over: cutting the connections still open/);
    assert.match(gateway.stdout(), /"msg":"stopped"/);
    await eventually(() => tenant.exports.aborted === 1, 'the upstream export was aborted too');

    // The logs were flushed before exit, and say what happened to each request.
    const lines = gateway.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l.msg === 'drain time over: cutting the connections still open' && l.streams === 1));
    assert.ok(lines.some((l) => l.msg === 'CSV stream cut short' && l.cause === 'drain'));
    const audits = lines.filter((l) => l.kind === 'audit');
    const exported = audits.find((a) => a.operation === 'exportNonEmployeeRecords');
    assert.equal(exported?.outcome, 'cut_by_drain');
    assert.ok(Number(exported?.bytes) >= cut.bytes, 'the record counts at least what the caller received');
    assert.equal(audits.find((a) => a.operation === 'startCampaignReport')?.outcome, 'complete');
  });
});

describe('graceful drain on SIGINT (real process, real signal)', () => {
  let setup: ProcessSetup;
  before(async () => {
    setup = await startProcessSetup({ campaigns: [CAMPAIGN] }, { DRAIN_TIMEOUT_MS: '1500' });
  });
  after(() => setup.close());

  it('When SIGINT arrives, then the gateway drains the same way and exits 0', async () => {
    const caller = `Bearer ${await setup.issuer.mint({ roles: ['CERT_ADMIN'] })}`;
    setup.tenant.addFault('runReport', { kind: 'delay-headers', ms: 300 });
    const report = fetch(`${setup.gateway.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller } });
    await eventually(() => setup.tenant.requests.some((r) => r.operation === 'runReport'), 'the report call reached the tenant');
    setup.gateway.child.kill('SIGINT');
    assert.equal((await report).status, 202);
    assert.equal(await setup.gateway.exited, 0);
    assert.match(setup.gateway.stdout(), /"signal":"SIGINT".*"msg":"draining"/);
    assert.match(setup.gateway.stdout(), /"msg":"stopped"/);
  });
});
