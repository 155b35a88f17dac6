// The report loop: start a campaign report, follow it in the campaign's list until it succeeds,
// download its file. Driven with SailPoint's own SDK pointed at the gateway, and over plain HTTP.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CertificationCampaignsApi, Configuration, ReportsDataExtractionApi } from 'sailpoint-api-client';
import request from 'supertest';
import { download } from './support/download.ts';
import { CAMPAIGN, eventually, startHarness, type Harness } from './support/harness.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
type Report = { id: string; status: string; reportType: string; lastRunAt: string };

describe('the report loop', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await startHarness({ tenant: { reportReadyMs: 300 } });
    admin = await h.token({ roles: ['REPORT_ADMIN'] });
  });
  after(() => h.close());

  it("With SailPoint's SDK pointed at the gateway: startCampaignReport, getCampaignReports until SUCCESS, getReport as CSV, bytes equal to the tenant's", async () => {
    const configuration = new Configuration({ baseurl: h.url, accessToken: admin });
    const campaigns = new CertificationCampaignsApi(configuration);
    const reports = new ReportsDataExtractionApi(configuration);
    const started = await campaigns.startCampaignReport({ id: CAMPAIGN, type: 'CAMPAIGN_COMPOSITION_REPORT' });
    assert.equal(started.status, 202);
    let report: Report | undefined;
    for (let polls = 0; report?.status !== 'SUCCESS' && polls < 50; polls += 1) {
      const listed = await campaigns.getCampaignReports({ id: CAMPAIGN });
      report = (listed.data as Report[]).find((r) => r.reportType === 'CAMPAIGN_COMPOSITION_REPORT');
      if (report?.status !== 'SUCCESS') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(report);
    const file = await reports.getReport({ taskResultId: report.id, fileFormat: 'csv' }, { responseType: 'arraybuffer' });
    assert.equal(file.status, 200);
    const bytes = Buffer.from(file.data as unknown as ArrayBuffer);
    assert.equal(sha256(bytes), sha256(h.tenant.reports.file(report.id, 'csv') as Buffer));
    assert.match(String(file.headers['content-disposition']), new RegExp(`^attachment; filename="report-${report.id}\\.csv"$`));
    assert.equal(file.headers['cache-control'], 'no-store');
  });

  /** Starts a report over HTTP and waits until the tenant says it succeeded; returns its id. */
  async function readyReport(type = 'CAMPAIGN_STATUS_REPORT'): Promise<string> {
    assert.equal((await request(h.url).post(`/v3/campaigns/${CAMPAIGN}/run-report/${type}`).set('Authorization', `Bearer ${admin}`)).status, 202);
    let report: Report | undefined;
    await eventually(() => {
      report = h.tenant.reports.list(CAMPAIGN).find((r) => r.reportType === type);
      return report?.status === 'SUCCESS';
    }, 'the report succeeds');
    return (report as Report).id;
  }

  it('Get Campaign Reports relays the JSON array: the started report PENDING, then SUCCESS', async () => {
    await request(h.url).post(`/v3/campaigns/${CAMPAIGN}/run-report/CERTIFICATION_SIGNOFF_REPORT`).set('Authorization', `Bearer ${admin}`);
    const pending = await request(h.url).get(`/v3/campaigns/${CAMPAIGN}/reports`).set('Authorization', `Bearer ${admin}`);
    assert.equal(pending.status, 200);
    assert.equal(pending.headers['cache-control'], 'no-store');
    const signoff = (pending.body as Report[]).find((r) => r.reportType === 'CERTIFICATION_SIGNOFF_REPORT');
    assert.equal(signoff?.status, 'PENDING');
    assert.deepEqual(Object.keys(signoff ?? {}).sort(), ['id', 'lastRunAt', 'name', 'reportType', 'status', 'type']);
    await eventually(() => h.tenant.reports.list(CAMPAIGN).some((r) => r.id === signoff?.id && r.status === 'SUCCESS'), 'success');
    const done = await request(h.url).get(`/v3/campaigns/${CAMPAIGN}/reports`).set('Authorization', `Bearer ${admin}`);
    assert.equal((done.body as Report[]).find((r) => r.id === signoff?.id)?.status, 'SUCCESS');
  });

  it('Get Report File streams the PDF with its type and a .pdf name; the audit record has the SHA-256 of the bytes', async () => {
    const id = await readyReport();
    const result = await download(`${h.url}/v3/reports/${id}?fileFormat=pdf`, `Bearer ${admin}`, { headers: { 'x-request-id': 'report-pdf-1' } });
    assert.equal(result.status, 200);
    assert.equal(result.complete, true);
    assert.equal(result.headers['content-type'], 'application/pdf');
    assert.equal(result.headers['content-disposition'], `attachment; filename="report-${id}.pdf"`);
    const expected = h.tenant.reports.file(id, 'pdf') as Buffer;
    assert.equal(result.sha256, sha256(expected));
    assert.match(expected.subarray(0, 8).toString('latin1'), /^%PDF-1\.4/);
    await eventually(() => h.logs().some((l) => l.kind === 'audit' && l.requestId === 'report-pdf-1'), 'the audit record');
    const record = h.logs().find((l) => l.kind === 'audit' && l.requestId === 'report-pdf-1') as Record<string, unknown>;
    assert.equal(record.operation, 'getReport');
    assert.deepEqual(record.target, { taskResultId: id });
    assert.equal(record.sha256, result.sha256);
    assert.equal(record.outcome, 'complete');
  });

  it('Declared query parameters are validated and forwarded re-encoded; everything else is dropped', async () => {
    const id = await readyReport('CAMPAIGN_REMEDIATION_STATUS_REPORT');
    const before = h.tenant.requests.length;
    const named = await download(`${h.url}/v3/reports/${id}?fileFormat=csv&name=Q4%20review&auditable=true&evil=1&limit=99`, `Bearer ${admin}`);
    assert.equal(named.status, 200);
    assert.equal(named.headers['content-disposition'], 'attachment; filename="Q4 review.csv"');
    const sent = h.tenant.requests.slice(before).map((r) => r.path);
    assert.deepEqual(sent, [`/v3/reports/${id}?fileFormat=csv&name=Q4%20review&auditable=true`]);
    for (const [query, why] of [
      ['', /fileFormat is required/],
      ['?fileFormat=xls', /fileFormat must be one of csv, pdf/],
      ['?fileFormat=csv&fileFormat=pdf', /given more than once/],
      ['?fileFormat=csv&name=..%2Fpasswd', /name must be/],
      ['?fileFormat=csv&auditable=maybe', /auditable must be one of true, false/],
    ] as const) {
      const refused = await request(h.url).get(`/v3/reports/${id}${query}`).set('Authorization', `Bearer ${admin}`);
      assert.equal(refused.status, 400, query);
      assert.match(refused.body.messages[0].text, why);
    }
    assert.equal(h.tenant.requests.length, before + 1, 'no refused request went upstream');
  });

  it('The same roles as starting a report; a scope holder is refused; HEAD is 404; an unknown report is relayed 404', async () => {
    const id = await readyReport();
    const reader = `Bearer ${await h.token({ scope: 'idn:nesr:read' })}`;
    assert.equal((await request(h.url).get(`/v3/campaigns/${CAMPAIGN}/reports`).set('Authorization', reader)).status, 403);
    assert.equal((await request(h.url).get(`/v3/reports/${id}?fileFormat=csv`).set('Authorization', reader)).status, 403);
    assert.equal((await request(h.url).head(`/v3/reports/${id}?fileFormat=csv`).set('Authorization', `Bearer ${admin}`)).status, 404);
    const unknown = await request(h.url).get('/v3/reports/no-such-report?fileFormat=csv').set('Authorization', `Bearer ${admin}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.detailCode, '404 Not found');
  });

  it('Faults apply to the new operations: the list is retried on 503 (repeatable), a file cut mid-body fails visibly', async () => {
    const id = await readyReport();
    h.tenant.addFault('listReports', { kind: 'status', status: 503 });
    const before = h.tenant.requests.length;
    const listed = await request(h.url).get(`/v3/campaigns/${CAMPAIGN}/reports`).set('Authorization', `Bearer ${admin}`);
    assert.equal(listed.status, 200);
    assert.equal(h.tenant.requests.length, before + 2);
    h.tenant.addFault('reportFile', { kind: 'reset-mid-body', afterBytes: 500 });
    const cut = await download(`${h.url}/v3/reports/${id}?fileFormat=csv`, `Bearer ${admin}`);
    assert.equal(cut.status, 200);
    assert.equal(cut.complete, false, 'a truncated file never looks complete');
  });
});

describe('the report loop when its operations are not configured', () => {
  it('When ACCESS_GET_REPORT_FILE and ACCESS_LIST_CAMPAIGN_REPORTS are set empty, then those paths are 404 and report starts still work', async () => {
    const h = await startHarness({ env: { ACCESS_GET_REPORT_FILE: '', ACCESS_LIST_CAMPAIGN_REPORTS: '' } });
    try {
      const admin = `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`;
      assert.equal((await request(h.url).get(`/v3/campaigns/${CAMPAIGN}/reports`).set('Authorization', admin)).status, 404);
      assert.equal((await request(h.url).get('/v3/reports/x?fileFormat=csv').set('Authorization', admin)).status, 404);
      assert.equal((await request(h.url).post(`/v3/campaigns/${CAMPAIGN}/run-report/CAMPAIGN_STATUS_REPORT`).set('Authorization', admin)).status, 202);
    } finally {
      await h.close();
    }
  });
});
