// The rules a path or query value must pass before anything goes upstream: each a pure function
// that returns the value or throws the 400 that names what is wrong.
import { GatewayError } from '../errors.ts';

export const REPORT_TYPES = [
  'CAMPAIGN_COMPOSITION_REPORT',
  'CAMPAIGN_REMEDIATION_STATUS_REPORT',
  'CAMPAIGN_STATUS_REPORT',
  'CERTIFICATION_SIGNOFF_REPORT',
] as const;

export type ReportType = (typeof REPORT_TYPES)[number];

const ID = /^[A-Za-z0-9_-]{1,128}$/;
// Printable ASCII, no path separators: it names a file the caller saves.
const FILE_NAME = /^[\x20-\x7e]{1,128}$/;

const badRequest = (text: string) => new GatewayError('ERR_BAD_REQUEST', text);

/** A value's check: the value to use, or a thrown 400. */
export type Check = (raw: string | undefined) => string;

/** Path ids are checked after Express's single URL-decoding and before anything goes upstream. */
export const idOf =
  (what: string): Check =>
  (raw) => {
    if (raw === undefined || !ID.test(raw)) throw badRequest(`The ${what} id must be 1 to 128 letters, digits, "-" or "_".`);
    return raw;
  };

export const oneOf =
  (what: string, allowed: readonly string[]): Check =>
  (raw) => {
    const value = allowed.find((a) => a === raw);
    if (value === undefined) throw badRequest(`The ${what} must be one of ${allowed.join(', ')}.`);
    return value;
  };

export const reportType: Check = oneOf('report type', REPORT_TYPES);

export const fileName: Check = (raw) => {
  if (raw === undefined || !FILE_NAME.test(raw) || /[/\\]/.test(raw)) {
    throw badRequest('The name must be 1 to 128 printable characters without "/" or "\\".');
  }
  return raw;
};

export const booleanText: Check = oneOf('value of auditable', ['true', 'false']);
