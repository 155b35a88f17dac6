// Every SailPoint operation the gateway serves, as data. Routing, validation, HEAD and OPTIONS,
// the audit operation name and target, metrics labels, the idempotency rules, the retry rule's
// repeatability, the sandbox tenant's routes, the bench and the test helpers all read this table:
// adding an operation is one entry here (and its tenant data), not edits in ten files.
import type { CallClass } from '../upstream/admission.ts';
import type { Repeatability } from '../upstream/retry-policy.ts';
import { booleanText, fileName, idOf, oneOf, reportType, type Check } from './params.ts';

export type OperationName = 'startCampaignReport' | 'getCampaignReports' | 'getReport' | 'exportNonEmployeeRecords';

/** A `{name}` of the path template: how it is checked, and what the audit record calls it. */
export interface PathParam {
  check: Check;
  auditAs: string;
}

/** A query parameter the operation declares; every other one is dropped before the call goes upstream. */
export interface QueryParam {
  name: string;
  required: boolean;
  check: Check;
}

export type Answer =
  /** SailPoint's small JSON answer, gathered whole (at most 1 MiB) and relayed. */
  | { kind: 'json' }
  /** A file streamed through with backpressure, its bytes hashed for the audit record. */
  | {
      kind: 'file';
      accept: string;
      fileName(values: Readonly<Record<string, string>>): string;
      /** When SailPoint names none. */
      contentType(values: Readonly<Record<string, string>>): string;
    };

export interface Operation {
  name: OperationName;
  method: 'GET' | 'POST';
  /** SailPoint's path template; the gateway serves the same path, so SailPoint's SDK can point at it. */
  path: string;
  params: Readonly<Record<string, PathParam>>;
  query: readonly QueryParam[];
  /** The variable holding who may call it: `role:NAME` / `scope:NAME`; set empty, it is not served. */
  access: { variable: string; default: string };
  /** 'once': SailPoint would act twice if a request that reached it were repeated. */
  repeatability: Repeatability;
  callClass: CallClass;
  answer: Answer;
  /** An Idempotency-Key makes repeats of it start nothing new. */
  idempotencyKey: boolean;
}

const REPORT_ROLES = 'role:CERT_ADMIN,role:DASHBOARD,role:ORG_ADMIN,role:REPORT_ADMIN';

export const OPERATIONS: readonly Operation[] = [
  {
    name: 'startCampaignReport',
    method: 'POST',
    path: '/v3/campaigns/{id}/run-report/{type}',
    params: { id: { check: idOf('campaign'), auditAs: 'campaignId' }, type: { check: reportType, auditAs: 'reportType' } },
    query: [],
    access: { variable: 'ACCESS_RUN_REPORT', default: REPORT_ROLES },
    repeatability: 'once',
    callClass: 'interactive',
    answer: { kind: 'json' },
    idempotencyKey: true,
  },
  {
    name: 'getCampaignReports',
    method: 'GET',
    path: '/v3/campaigns/{id}/reports',
    params: { id: { check: idOf('campaign'), auditAs: 'campaignId' } },
    query: [],
    access: { variable: 'ACCESS_LIST_CAMPAIGN_REPORTS', default: REPORT_ROLES },
    repeatability: 'repeatable',
    callClass: 'interactive',
    answer: { kind: 'json' },
    idempotencyKey: false,
  },
  {
    name: 'getReport',
    method: 'GET',
    path: '/v3/reports/{taskResultId}',
    params: { taskResultId: { check: idOf('report'), auditAs: 'taskResultId' } },
    query: [
      { name: 'fileFormat', required: true, check: oneOf('fileFormat', ['csv', 'pdf']) },
      { name: 'name', required: false, check: fileName },
      { name: 'auditable', required: false, check: booleanText },
    ],
    access: { variable: 'ACCESS_GET_REPORT_FILE', default: REPORT_ROLES },
    repeatability: 'repeatable',
    callClass: 'export',
    answer: {
      kind: 'file',
      accept: 'text/csv, application/pdf, application/json;q=0.5',
      fileName: (v) => `${(v.name ?? `report-${v.taskResultId}`).replace(/["\\]/g, '_')}.${v.fileFormat}`,
      contentType: (v) => (v.fileFormat === 'pdf' ? 'application/pdf' : 'text/csv'),
    },
    idempotencyKey: false,
  },
  {
    name: 'exportNonEmployeeRecords',
    method: 'GET',
    path: '/v3/non-employee-sources/{id}/non-employees/download',
    params: { id: { check: idOf('source'), auditAs: 'sourceId' } },
    query: [],
    access: { variable: 'ACCESS_EXPORT_NON_EMPLOYEES', default: 'scope:idn:nesr:read' },
    repeatability: 'repeatable',
    callClass: 'export',
    answer: { kind: 'file', accept: 'text/csv, application/json;q=0.5', fileName: (v) => `non-employees-${v.id}.csv`, contentType: () => 'text/csv' },
    idempotencyKey: false,
  },
];

export function operation(name: OperationName): Operation {
  return OPERATIONS.find((op) => op.name === name) as Operation;
}

/** The route label of logs and metrics: `POST /v3/campaigns/{id}/run-report/{type}`. */
export const routeOf = (op: Operation) => `${op.method} ${op.path}`;

// Each template read once: walking it with a RegExp on every call showed in the small call's profile.
const templates = new WeakMap<Operation, { names: readonly string[]; between: readonly string[] }>();
function templateOf(op: Operation): { names: readonly string[]; between: readonly string[] } {
  let template = templates.get(op);
  if (!template) {
    template = { names: [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string), between: op.path.split(/\{\w+\}/) };
    templates.set(op, template);
  }
  return template;
}

/** The names of the template's `{params}`, in order. */
export const paramNames = (op: Operation): readonly string[] => templateOf(op).names;

/**
 * The template as a RegExp that captures each segment whatever it holds (even empty), so that a
 * bad id reaches validation and gets its 400 rather than a 404.
 */
export function pathPattern(op: Operation): RegExp {
  const source = templateOf(op).between.map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('([^/]*)');
  return new RegExp(`^${source}$`);
}

/** The path with its values filled in, each URL-encoded. */
export function pathOf(op: Operation, values: Readonly<Record<string, string>>): string {
  const { names, between } = templateOf(op);
  let path = between[0] as string;
  names.forEach((name, i) => {
    path += encodeURIComponent(values[name] ?? '') + (between[i + 1] as string);
  });
  return path;
}
