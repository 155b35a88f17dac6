// The report loop of SailPoint v3, as the gateway serves it: start a campaign report, follow the
// campaign's reports until that one is done, then its file.

export const REPORT_TYPES = [
  ['CAMPAIGN_STATUS_REPORT', 'Campaign status'],
  ['CAMPAIGN_COMPOSITION_REPORT', 'Campaign composition'],
  ['CAMPAIGN_REMEDIATION_STATUS_REPORT', 'Remediation status'],
  ['CERTIFICATION_SIGNOFF_REPORT', 'Certification sign-off'],
];

const DONE = new Set(['SUCCESS', 'WARNING', 'ERROR', 'TERMINATED']);

const enc = encodeURIComponent;

export async function listReports(gateway, campaign, options = {}) {
  const response = await gateway.call('GET', `/v3/campaigns/${enc(campaign)}/reports`, options);
  return response.json();
}

/** One start; the same key on a repeat (a double click) gets the first call's answer, not a second report. */
export async function startReport(gateway, campaign, type, idempotencyKey, options = {}) {
  await gateway.call('POST', `/v3/campaigns/${enc(campaign)}/run-report/${enc(type)}`, { ...options, headers: { 'Idempotency-Key': idempotencyKey } });
}

/** The run of `type` newer than `since` (its lastRunAt before the start), once it is done. */
export function finishedRun(reports, type, since) {
  const run = reports.find((report) => report.reportType === type && (since === undefined || report.lastRunAt > since));
  return run && DONE.has(run.status) ? run : undefined;
}

export const reportFilePath = (report, format) => `/v3/reports/${enc(report.id)}?fileFormat=${format}`;
