// The simulated tenant's campaign reports: a started report shows up in its campaign's list as
// PENDING, turns SUCCESS after a short while, and its file can then be had as CSV or PDF.
import { createHash } from 'node:crypto';
import type { ReportType } from '../operations/params.ts';

/** SailPoint's CampaignReport, as Get Campaign Reports answers it. */
export interface CampaignReport {
  type: 'REPORT_RESULT';
  id: string;
  name: string;
  status: 'PENDING' | 'SUCCESS';
  reportType: ReportType;
  lastRunAt: string;
}

export interface ReportStore {
  /** A report of this type starts (again) for the campaign: SailPoint keeps the latest run of each type. */
  start(campaignId: string, reportType: ReportType): CampaignReport;
  list(campaignId: string): CampaignReport[];
  /** The report's file, once it succeeded; undefined while it is pending or unknown. */
  file(id: string, format: 'csv' | 'pdf'): Buffer | undefined;
  close(): void;
}

const NAMES: Record<ReportType, string> = {
  CAMPAIGN_COMPOSITION_REPORT: 'Campaign Composition Report',
  CAMPAIGN_REMEDIATION_STATUS_REPORT: 'Campaign Remediation Status Report',
  CAMPAIGN_STATUS_REPORT: 'Campaign Status Report',
  CERTIFICATION_SIGNOFF_REPORT: 'Certification Signoff Report',
};

function csvOf(campaignId: string, report: CampaignReport): Buffer {
  const rows = ['campaignId,reportId,reportType,identity,reviewer,decision'];
  for (let i = 0; i < 50; i += 1) rows.push(`${campaignId},${report.id},${report.reportType},identity-${i},reviewer-${i % 5},${i % 3 === 0 ? 'REVOKE' : 'APPROVE'}`);
  return Buffer.from(`${rows.join('\n')}\n`);
}

/** A small valid PDF, one page with one line of text, its cross-reference offsets computed. */
export function minimalPdf(text: string): Buffer {
  const safe = text.replace(/[()\\]/g, '');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${`BT /F1 14 Tf 72 720 Td (${safe}) Tj ET`.length} >>\nstream\nBT /F1 14 Tf 72 720 Td (${safe}) Tj ET\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

export function createReportStore(readyAfterMs: number): ReportStore {
  // The latest run of each type per campaign, and its status worked out when asked: no timer and
  // nothing kept per run, so a benchmark's thousands of starts a second leave no garbage behind.
  interface Run {
    campaignId: string;
    report: CampaignReport;
    startedAtMs: number;
  }
  const byCampaign = new Map<string, Map<ReportType, Run>>();
  const byId = new Map<string, Run>();
  let runs = 0;
  const current = ({ report, startedAtMs }: Run): CampaignReport => ({
    ...report,
    status: performance.now() - startedAtMs >= readyAfterMs ? 'SUCCESS' : 'PENDING',
  });
  return {
    start(campaignId, reportType) {
      runs += 1;
      const id = createHash('sha256').update(`${campaignId}/${reportType}/${runs}`).digest('hex').slice(0, 32);
      const report: CampaignReport = { type: 'REPORT_RESULT', id, name: NAMES[reportType], status: 'PENDING', reportType, lastRunAt: new Date().toISOString() };
      const reports = byCampaign.get(campaignId) ?? new Map<ReportType, Run>();
      const replaced = reports.get(reportType);
      if (replaced) byId.delete(replaced.report.id);
      const run: Run = { campaignId, report, startedAtMs: performance.now() };
      reports.set(reportType, run);
      byCampaign.set(campaignId, reports);
      byId.set(id, run);
      return { ...report };
    },
    list: (campaignId) => [...(byCampaign.get(campaignId)?.values() ?? [])].map(current),
    file(id, format) {
      const run = byId.get(id);
      if (!run) return undefined;
      const report = current(run);
      if (report.status !== 'SUCCESS') return undefined;
      return format === 'csv' ? csvOf(run.campaignId, report) : minimalPdf(`${report.name} for campaign ${run.campaignId}`);
    },
    close() {},
  };
}
