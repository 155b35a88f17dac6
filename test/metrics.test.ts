import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { download } from './support/download.ts';
import { CAMPAIGN, exportPath, runReportPath, startHarness, type Harness } from './support/harness.ts';

/** The value of one sample line, found by metric name and exact label set. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('/metrics', () => {
  let h: Harness;
  let text: string;
  before(async () => {
    h = await startHarness({ tenant: { sources: { s1: { kind: 'bulk', blocks: 20, contentLength: false } } } });
    const caller = `Bearer ${await h.token({ sub: 'secret-subject@example.com', roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
    await request(h.url).post(runReportPath()).set('Authorization', caller);
    h.tenant.addFault('runReport', { kind: 'status', status: 503 });
    await request(h.url).post(runReportPath()).set('Authorization', caller);
    await request(h.url).post(runReportPath()).set('Authorization', 'Bearer nope');
    // Three 503s in a row use up the two retries: one call that gave up.
    h.tenant.addFault('runReport', { kind: 'status', status: 503 }, 3);
    await request(h.url).post(runReportPath()).set('Authorization', caller);
    await download(`${h.url}${exportPath('s1')}`, caller);
    h.tenant.addFault('export', { kind: 'reset-mid-body', afterBytes: 300_000 });
    await download(`${h.url}${exportPath('s1')}`, caller);
    // The gateway counts a cut stream when it has finished cleaning up, which may be just after
    // the caller saw the cut: scrape until it shows (or give up after 5 s).
    for (let tries = 0; tries < 50; tries += 1) {
      const response = await request(h.url).get('/metrics');
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      text = response.text;
      if (text.includes('gateway_csv_streams_cut_total{')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  after(() => h.close());

  it('counts requests by route template and status, with a latency histogram', () => {
    assert.equal(sample(text, 'gateway_requests_total', '{route="POST /v3/campaigns/{id}/run-report/{type}",status="202"}'), 2);
    assert.equal(sample(text, 'gateway_requests_total', '{route="POST /v3/campaigns/{id}/run-report/{type}",status="401"}'), 1);
    assert.equal(sample(text, 'gateway_request_duration_seconds_count', '{route="POST /v3/campaigns/{id}/run-report/{type}"}'), 4);
  });

  it('counts upstream attempts by outcome (success, retry reason) and calls by result (success, gave up)', () => {
    assert.equal(sample(text, 'gateway_upstream_attempts_total', '{operation="startCampaignReport",outcome="success"}'), 2);
    assert.equal(sample(text, 'gateway_upstream_attempts_total', '{operation="startCampaignReport",outcome="status_503"}'), 4);
    assert.equal(sample(text, 'gateway_upstream_attempts_total', '{operation="exportNonEmployeeRecords",outcome="success"}'), 2);
    assert.equal(sample(text, 'gateway_upstream_calls_total', '{operation="startCampaignReport",result="success"}'), 2);
    assert.equal(sample(text, 'gateway_upstream_calls_total', '{operation="startCampaignReport",result="gave_up"}'), 1);
    assert.equal(sample(text, 'gateway_requests_total', '{route="POST /v3/campaigns/{id}/run-report/{type}",status="502"}'), 1);
  });

  it('has a queue-wait histogram per call class, observed once per attempt', () => {
    assert.equal(sample(text, 'gateway_budget_queue_wait_seconds_count', '{class="interactive"}'), 6);
    assert.equal(sample(text, 'gateway_budget_queue_wait_seconds_count', '{class="export"}'), 2);
  });

  it('reports credential and caller-key fetches and their age', () => {
    assert.equal(sample(text, 'gateway_token_fetches_total', '{result="ok"}'), 1);
    assert.equal(sample(text, 'gateway_token_fetches_total', '{result="failed"}'), 0);
    const tokenAge = sample(text, 'gateway_token_age_seconds') ?? Number.NaN;
    assert.ok(tokenAge >= 0 && tokenAge < 600, `token age ${tokenAge}`);
    assert.equal(sample(text, 'gateway_jwks_refreshes_total', '{result="ok"}'), 1);
    assert.equal(sample(text, 'gateway_jwks_refreshes_total', '{result="failed"}'), 0);
    assert.equal(sample(text, 'gateway_dependency_state', '{dependency="callerKeys",state="ok"}'), 1);
    assert.equal(sample(text, 'gateway_dependency_state', '{dependency="upstreamCredential",state="failing"}'), 0);
    const keyAge = sample(text, 'gateway_caller_keys_age_seconds') ?? Number.NaN;
    assert.ok(keyAge >= 0 && keyAge < 600, `key age ${keyAge}`);
  });

  it('counts streamed bytes and streams cut short by cause, and reports the budget and the credential', () => {
    assert.ok((sample(text, 'gateway_csv_bytes_total') ?? 0) > 0);
    assert.equal(sample(text, 'gateway_csv_streams_cut_total', '{cause="upstream_failed"}'), 1);
    assert.equal(sample(text, 'gateway_csv_streams_cut_total', '{cause="caller_aborted"}'), 0);
    assert.equal(sample(text, 'gateway_csv_streams_cut_total', '{cause="drain"}'), 0);
    assert.equal(sample(text, 'gateway_budget_queued'), 0);
    assert.equal(sample(text, 'gateway_upstream_in_flight'), 0);
    assert.equal(sample(text, 'gateway_budget_shed_total'), 0);
    assert.equal(sample(text, 'gateway_audit_records_total', '{outcome="complete"}'), 3);
    assert.equal(sample(text, 'gateway_audit_records_total', '{outcome="refused"}'), 1);
    assert.equal(sample(text, 'gateway_audit_records_total', '{outcome="upstream_failed"}'), 2);
    assert.ok(sample(text, 'gateway_process_cpu_user_seconds_total') !== undefined, 'default process metrics');
  });

  it('never uses an id or a subject as a label value', () => {
    assert.equal(text.includes(CAMPAIGN), false);
    assert.equal(text.includes('secret-subject'), false);
    assert.equal(text.includes('s1/'), false);
  });
});
