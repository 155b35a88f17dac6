// The page: who is logged in, the report loop, the CSV export. Wiring only; the gateway calls,
// the downloads and the messages are in their own modules.
import { fileNameOf, readWhole, save } from './download.js';
import { createGateway } from './gateway.js';
import { describe, retryingAfter429 } from './messages.js';
import { finishedRun, listReports, REPORT_TYPES, reportFilePath, startReport } from './reports.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const MAX_POLLS = 90;

// ?gateway=<origin>: this page is served elsewhere and calls that gateway with a bearer token.
const gateway = createGateway(new URLSearchParams(location.search).get('gateway') ?? '');

function say(element, text, tone = 'info') {
  element.textContent = text;
  element.dataset.tone = tone;
}

function sayProblem(element, problem) {
  const { title, text } = describe(problem);
  say(element, `${title}: ${text}`, problem.kind === 'aborted' ? 'info' : 'error');
}

/** A call that waits out a 429 with a countdown in `element`, then tries again. */
function patiently(element, attempt, signal) {
  return retryingAfter429(attempt, {
    signal,
    onCountdown: (left) => left > 0 && say(element, `SailPoint’s shared budget is used up: trying again in ${left} s…`, 'wait'),
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- who is calling ---------------------------------------------------------------------------

function showCaller({ name, sub, roles, scopes }) {
  $('who-name').textContent = name ?? sub;
  $('who-sub').textContent = name ? `(${sub})` : '';
  $('who-roles').textContent = roles.length ? roles.join(', ') : 'none';
  $('who-scopes').textContent = scopes.length ? scopes.join(', ') : 'none';
  $('who').hidden = false;
  $('work').hidden = false;
}

/** A bearer token's claims, read for display only: the gateway verifies it on every call. */
function claimsOf(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replaceAll('-', '+').replaceAll('_', '/')));
    const words = (value) => (Array.isArray(value) ? value : typeof value === 'string' ? value.split(' ') : []).filter(Boolean);
    return { sub: payload.sub, name: payload.name, roles: [...words(payload.roles), ...words(payload.authorities)], scopes: [...words(payload.scope), ...words(payload.scp), ...words(payload.permissions)] };
  } catch {
    return undefined;
  }
}

async function startSession() {
  $('mode').textContent = 'session';
  try {
    const user = await (await gateway.call('GET', '/bff/user')).json();
    showCaller(user);
    $('main').focus();
  } catch (problem) {
    if (problem.status !== 401) sayProblem($('report-message'), problem);
    $('login').hidden = false;
    $('login-link').focus();
  }
  $('logout').addEventListener('click', async () => {
    try {
      const { endSessionUrl } = await (await gateway.call('POST', '/bff/logout')).json();
      // The provider's end-session page ends its own session too, then comes back here.
      location.assign(endSessionUrl ?? '/app/');
    } catch (problem) {
      sayProblem($('report-message'), problem);
    }
  });
}

function startBearer() {
  $('mode').textContent = `bearer → ${gateway.origin}`;
  $('token').hidden = false;
  $('logout').textContent = 'Forget token';
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value;
    gateway.setToken(token);
    $('token-input').value = '';
    showCaller(claimsOf(token) ?? { sub: 'unreadable token', roles: [], scopes: [] });
    $('token').hidden = true;
    $('campaign').focus();
  });
  $('logout').addEventListener('click', () => location.reload());
}

// --- sandbox suggestions ----------------------------------------------------------------------

async function loadSuggestions() {
  // Only the sandbox serves this list (its simulated tenant's ids); elsewhere the fields stay empty.
  const response = await fetch(`${gateway.origin}/app/sandbox.json`).catch(() => undefined);
  if (!response?.ok) return;
  const { campaigns, sources } = await response.json();
  $('sandbox').hidden = false;
  const options = (list) => list.map((value) => Object.assign(document.createElement('option'), { value }));
  $('campaigns').replaceChildren(...options(campaigns));
  $('sources').replaceChildren(...options(sources));
  $('campaign').value ||= campaigns[0] ?? '';
  $('source').value ||= sources[0] ?? '';
}

// --- campaign reports -------------------------------------------------------------------------

function fileLink(report, format) {
  const path = reportFilePath(report, format);
  const link = document.createElement('a');
  link.textContent = format.toUpperCase();
  link.href = gateway.url(path);
  if (gateway.sessionMode()) {
    // A plain link: the browser downloads it by top-level navigation with the session cookie.
    link.download = '';
  } else {
    link.addEventListener('click', async (event) => {
      event.preventDefault();
      try {
        const response = await gateway.call('GET', path);
        save(await readWhole(response, { onProgress: () => {} }), fileNameOf(response, `${report.id}.${format}`));
      } catch (problem) {
        sayProblem($('report-message'), problem);
      }
    });
  }
  return link;
}

function showReports(reports) {
  const rows = reports.map((report) => {
    const row = document.createElement('tr');
    const cell = (text) => Object.assign(document.createElement('td'), { textContent: text });
    const file = document.createElement('td');
    if (report.status === 'SUCCESS' || report.status === 'WARNING') file.append(fileLink(report, 'csv'), ' ', fileLink(report, 'pdf'));
    row.append(cell(report.name), cell(report.status), cell(new Date(report.lastRunAt).toLocaleString()), file);
    row.dataset.reportType = report.reportType;
    row.dataset.status = report.status;
    return row;
  });
  $('report-table').querySelector('tbody').replaceChildren(...rows);
  $('report-table').hidden = reports.length === 0;
}

/** The start the person asked for; repeated clicks while it is being sent reuse its key. */
let intent;

async function followReport(campaign, type, since) {
  const message = $('report-message');
  for (let poll = 0; poll < MAX_POLLS; poll += 1) {
    await sleep(POLL_MS);
    const reports = await patiently(message, () => listReports(gateway, campaign));
    showReports(reports);
    const run = finishedRun(reports, type, since);
    if (run) {
      say(message, `${run.name}: ${run.status}.${run.status === 'SUCCESS' ? ' Its file is in the table.' : ''}`, run.status === 'SUCCESS' ? 'done' : 'error');
      return;
    }
    say(message, `Report started; SailPoint is building it (checked ${poll + 1} time${poll ? 's' : ''})…`, 'wait');
  }
  say(message, 'The report is still not done; “Show reports” looks again.', 'error');
}

async function startAndFollow(current) {
  const message = $('report-message');
  try {
    say(message, 'Looking at the campaign’s reports…', 'wait');
    const before = await patiently(message, () => listReports(gateway, current.campaign));
    showReports(before);
    const since = before.find((report) => report.reportType === current.type)?.lastRunAt;
    say(message, 'Starting the report…', 'wait');
    await patiently(message, () => startReport(gateway, current.campaign, current.type, current.key));
    intent = undefined;
    say(message, 'Report started; SailPoint is building it…', 'wait');
    await followReport(current.campaign, current.type, since);
  } catch (problem) {
    if (intent === current) intent = undefined;
    sayProblem(message, problem);
  }
}

function onStartReport(event) {
  event.preventDefault();
  const campaign = $('campaign').value.trim();
  const type = $('report-type').value;
  if (intent?.campaign === campaign && intent.type === type) {
    // A double click: the same Idempotency-Key, so the gateway answers it without a second report.
    startReport(gateway, campaign, type, intent.key).catch(() => {});
    return;
  }
  intent = { campaign, type, key: crypto.randomUUID() };
  void startAndFollow(intent);
}

async function onShowReports() {
  try {
    showReports(await patiently($('report-message'), () => listReports(gateway, $('campaign').value.trim())));
    say($('report-message'), '');
  } catch (problem) {
    sayProblem($('report-message'), problem);
  }
}

// --- the non-employee CSV ---------------------------------------------------------------------

let download;

function showProgress({ bytes, total, rows }) {
  const progress = $('csv-progress');
  if (total) {
    progress.max = total;
    progress.value = bytes;
    $('csv-count').textContent = `${bytes.toLocaleString()} of ${total.toLocaleString()} bytes`;
  } else {
    progress.removeAttribute('value');
    $('csv-count').textContent = `${bytes.toLocaleString()} bytes, ${rows.toLocaleString()} rows`;
  }
}

async function onDownloadCsv(event) {
  event.preventDefault();
  if (download) return;
  const source = $('source').value.trim();
  const message = $('export-message');
  download = new AbortController();
  $('cancel-csv').disabled = false;
  $('download-csv').disabled = true;
  $('csv-progress').value = 0;
  $('csv-count').textContent = '';
  try {
    say(message, 'Asking SailPoint for the export…', 'wait');
    const path = `/v3/non-employee-sources/${encodeURIComponent(source)}/non-employees/download`;
    const { signal } = download;
    const response = await patiently(message, () => gateway.call('GET', path, { signal }), signal);
    say(message, 'Downloading…', 'wait');
    const blob = await readWhole(response, { onProgress: showProgress, countRows: true });
    save(blob, fileNameOf(response, `${source}.csv`));
    say(message, `Saved ${blob.size.toLocaleString()} bytes.`, 'done');
  } catch (problem) {
    sayProblem(message, problem);
  } finally {
    download = undefined;
    $('cancel-csv').disabled = true;
    $('download-csv').disabled = false;
  }
}

// --- start ------------------------------------------------------------------------------------

$('report-type').replaceChildren(...REPORT_TYPES.map(([value, label]) => Object.assign(document.createElement('option'), { value, textContent: label })));
$('report-form').addEventListener('submit', onStartReport);
$('show-reports').addEventListener('click', onShowReports);
$('export-form').addEventListener('submit', onDownloadCsv);
$('cancel-csv').addEventListener('click', () => download?.abort());
void loadSuggestions();
if (gateway.sessionMode()) void startSession();
else startBearer();
