import { REPORT_TYPES } from '../config.ts';
import { GatewayError } from '../errors.ts';

const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Path ids are checked after Express's single URL-decoding and before anything goes upstream. */
export function validId(raw: string | undefined, what: string): string {
  if (raw === undefined || !ID.test(raw)) {
    throw new GatewayError('ERR_BAD_REQUEST', `The ${what} id must be 1 to 128 letters, digits, "-" or "_".`);
  }
  return raw;
}

export type ReportType = (typeof REPORT_TYPES)[number];

export function validReportType(raw: string | undefined): ReportType {
  const type = REPORT_TYPES.find((t) => t === raw);
  if (type === undefined) throw new GatewayError('ERR_BAD_REQUEST', `The report type must be one of ${REPORT_TYPES.join(', ')}.`);
  return type;
}
