import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseTraceparent, traceContextFor } from '../src/http/trace-context.ts';
import { download } from './support/download.ts';
import { eventually, exportPath, runReportPath, startHarness, type Harness } from './support/harness.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe('W3C traceparent parsing (pure)', () => {
  it('accepts version 00 and reads later versions by their first four fields', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE_ID}-${CALLER_SPAN}-01`), { traceId: TRACE_ID, parentSpanId: CALLER_SPAN, flags: '01' });
    assert.deepEqual(parseTraceparent(`01-${TRACE_ID}-${CALLER_SPAN}-00-extra`), { traceId: TRACE_ID, parentSpanId: CALLER_SPAN, flags: '00' });
  });

  it('rejects what the spec says to reject: zero ids, version ff, upper case, wrong lengths, trailing data on 00', () => {
    for (const bad of [
      `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `ff-${TRACE_ID}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID.toUpperCase()}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID}a-${CALLER_SPAN}-01`,
      `00-${TRACE_ID}-${CALLER_SPAN}-01-extra`,
      '',
      undefined,
    ]) {
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    }
  });

  it('starts a new trace when there is none, and drops a tracestate that is not printable or too long', () => {
    const fresh = traceContextFor({});
    assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
    assert.equal(fresh.parentSpanId, undefined);
    assert.equal(traceContextFor({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, tracestate: 'a=1\n' }).tracestate, undefined);
    assert.equal(traceContextFor({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, tracestate: `a=${'x'.repeat(600)}` }).tracestate, undefined);
    assert.equal(traceContextFor({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, tracestate: ['a=1', 'b=2'] }).tracestate, 'a=1,b=2');
  });
});

describe('trace context through the gateway', () => {
  let h: Harness;
  let caller: string;
  before(async () => {
    h = await startHarness({ tenant: { sources: { s: { kind: 'bulk', blocks: 2, contentLength: true } } } });
    caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
  });
  after(() => h.close());

  const lastUpstream = () => h.tenant.requests.at(-1)?.headers ?? {};
  const linesOf = (requestId: string) => h.logs().filter((l) => l.requestId === requestId);

  it('When the caller sends traceparent and tracestate, then SailPoint sees the same trace with the gateway as parent, and every log line carries the trace id', async () => {
    const response = await request(h.url)
      .post(runReportPath())
      .set('Authorization', caller)
      .set('X-Request-Id', 'trace-1')
      .set('traceparent', `00-${TRACE_ID}-${CALLER_SPAN}-01`)
      .set('tracestate', 'vendor=abc,other=1');
    assert.equal(response.status, 202);
    const sent = TRACEPARENT.exec(String(lastUpstream().traceparent));
    assert.ok(sent, 'a valid traceparent went upstream');
    assert.equal(sent[1], TRACE_ID);
    assert.notEqual(sent[2], CALLER_SPAN, "the gateway's own span is the parent upstream");
    assert.equal(sent[3], '01', 'the sampled flag is kept');
    assert.equal(lastUpstream().tracestate, 'vendor=abc,other=1');
    await eventually(() => linesOf('trace-1').some((l) => l.msg === 'request completed'), 'the access line');
    const lines = linesOf('trace-1');
    assert.ok(lines.length >= 3, 'access line, audit record and the debug attempt line');
    for (const line of lines) assert.equal(line.traceId, TRACE_ID, String(line.msg ?? line.kind));
  });

  it('When the caller sends none (or a malformed one), then a new trace starts, goes upstream, and is in the logs', async () => {
    for (const [requestId, traceparent] of [['trace-2', undefined], ['trace-3', `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`]] as const) {
      const headers: Record<string, string> = { 'x-request-id': requestId, tracestate: 'vendor=abc' };
      if (traceparent) headers.traceparent = traceparent;
      const result = await download(`${h.url}${exportPath('s')}`, caller, { headers });
      assert.equal(result.complete, true);
      const sent = TRACEPARENT.exec(String(lastUpstream().traceparent));
      assert.ok(sent, 'a valid traceparent went upstream');
      assert.notEqual(sent[1], '0'.repeat(32));
      assert.equal(lastUpstream().tracestate, undefined, 'a tracestate without its traceparent is dropped');
      await eventually(() => linesOf(requestId).some((l) => l.msg === 'request completed'), 'the access line');
      for (const line of linesOf(requestId)) assert.equal(line.traceId, sent[1]);
    }
  });
});
