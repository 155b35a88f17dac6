// The cost of saying no: floods of refusals (401 with random signatures on a known kid, 401 for
// an expired token, 401 with garbage, 403, 429 from admission, 404), each at 32 connections for a
// few seconds, while a light legitimate caller lists a campaign's reports 5 times a second, open
// loop. Per flood: refusals per second, the gateway's CPU µs per refusal (/proc), and the light
// caller's p50 / p99. nginx answering 404 is the floor for the cheapest. A served call's CPU grows with the connections
// that keep it busy, and the 429 flood needs more of them than one caller may have waiting, so
// each flood is also compared with a served call at its own connections, measured just before it
// on a second gateway whose budget is out of the way (a tenant without a rate limit).
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { operation, pathOf } from '../src/operations/table.ts';
import { openLoopProcess, type OpenLoopResult } from './open-loop.ts';
import { BENCH_CLIENT, BUDGET_OUT_OF_THE_WAY, startProxy, upstreamFor } from './proxies.ts';
import { procStat, startGateway } from './support.ts';
import { wrk } from './wrk.ts';

const CAMPAIGN = '2c91808571bcfcf80171c23e4b4221fc';
const RUN_REPORT = pathOf(operation('startCampaignReport'), { id: CAMPAIGN, type: 'CAMPAIGN_STATUS_REPORT' });
const LIST_REPORTS = pathOf(operation('getCampaignReports'), { id: CAMPAIGN });
const LIGHT_RATE = 5;
const LIGHT_WARM_UP_S = 1;

/** A request() for wrk: the same header and claims, a new random 64-byte signature each time. */
function randomSignatureLua(token: string): string {
  const prefix = token.slice(0, token.lastIndexOf('.') + 1);
  return `
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
request = function()
  local t = {}
  for i = 1, 86 do local r = math.random(1, 64); t[i] = chars:sub(r, r) end
  return wrk.format(nil, nil, { ["authorization"] = "Bearer ${prefix}" .. table.concat(t) })
end
`;
}

/** The light caller listing reports, open loop; its flood runs LIGHT_WARM_UP_S longer, for its untimed start. */
const lightCaller = (url: string, seconds: number, headers: Record<string, string>) =>
  openLoopProcess(`${url}${LIST_REPORTS}`, { ratePerS: LIGHT_RATE, seconds, warmUpS: LIGHT_WARM_UP_S, method: 'GET', headers });

/** The table's two light-caller cells: served of sent, then p50 / p99. */
const lightCells = (light: OpenLoopResult | undefined) => (light ? `${light.ok}/${light.sent} | ${light.p50Ms.toFixed(2)} / ${light.p99Ms.toFixed(2)}` : ' | ');

interface Flood {
  name: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  lua?: string;
  expect: string;
  connections?: number;
}

export async function refusalsScenario(seconds: number, servedCpuUs: number): Promise<string> {
  const tenant = await startTenant({ ...BENCH_CLIENT, campaigns: [CAMPAIGN], tokenLifetimeS: 43_200, record: false });
  const issuer = await startDevIssuer();
  const upstream = await upstreamFor(tenant, issuer);
  const gateway = await startGateway(upstream.gatewayEnv);
  const unlimitedTenant = await startTenant({ ...BENCH_CLIENT, campaigns: [CAMPAIGN], rateLimit: null, tokenLifetimeS: 43_200, record: false });
  const servingGateway = await startGateway((await upstreamFor(unlimitedTenant, issuer, BUDGET_OUT_OF_THE_WAY)).gatewayEnv);
  const nginx = await startProxy('nginx', upstream);
  const bare = await startProxy('bare-node', upstream);
  const admin = await issuer.mint({ sub: 'flooder', roles: ['CERT_ADMIN'] }, { expiresInS: 3600 });
  const reader = await issuer.mint({ sub: 'wrong-role', scope: 'idn:nesr:read' }, { expiresInS: 3600 });
  const light = await issuer.mint({ sub: 'light', roles: ['CERT_ADMIN'] }, { expiresInS: 3600 });
  const nowS = Math.floor(Date.now() / 1000);
  const expired = await issuer.mint({ sub: 'stale-tab', roles: ['CERT_ADMIN'], iat: nowS - 7200, exp: nowS - 3600 });
  const floods: Flood[] = [
    { name: '401: random signatures on a known kid', path: LIST_REPORTS, method: 'GET', headers: {}, lua: randomSignatureLua(admin), expect: '401' },
    // A front-end tab whose token expired, calling on: signed well, refused by its claims alone.
    { name: '401: an expired token, sent again and again', path: LIST_REPORTS, method: 'GET', headers: { authorization: `Bearer ${expired}` }, expect: '401' },
    { name: '401: garbage tokens', path: LIST_REPORTS, method: 'GET', headers: { authorization: 'Bearer not-a-token' }, expect: '401' },
    { name: '403: a valid token without the role', path: RUN_REPORT, method: 'POST', headers: { authorization: `Bearer ${reader}` }, expect: '403' },
    // More connections than one caller may have waiting (UPSTREAM_QUEUE_PER_CALLER, 50): the rest are refused at once.
    { name: '429: over the budget (admission)', path: RUN_REPORT, method: 'POST', headers: { authorization: `Bearer ${admin}` }, expect: '429', connections: 128 },
    { name: '404: unknown paths', path: '/v3/accounts', method: 'GET', headers: {}, expect: '404' },
  ];
  const lines = [
    `### The cost of saying no: each flood ${seconds} s at 32 connections, a light caller listing reports ${LIGHT_RATE}×/s meanwhile (budget 100 per 10 s)`,
    '',
    `A served call costs ${servedCpuUs.toFixed(0)} CPU µs (the small-call table above).`,
    '',
    '| flood | answers/s | status seen, share refused | CPU µs per answer | ÷ a served call | a served call at its connections, just before (µs) | ÷ that | light caller served | light p50 / p99 (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const connectionsOf = (flood: Flood) => flood.connections ?? 32;
  const serve = (connections: number, forS: number) =>
    wrk(`${servingGateway.url}${RUN_REPORT}`, { connections, seconds: forS, method: 'POST', headers: { authorization: `Bearer ${admin}` } });
  /** The CPU of a served call at these connections, on the gateway whose budget is out of the way. */
  const servedCpuAt = async (connections: number): Promise<number> => {
    const before = procStat(servingGateway.pid).cpuS;
    const result = await serve(connections, seconds);
    return ((procStat(servingGateway.pid).cpuS - before) * 1e6) / result.requests;
  };
  try {
    // Warm-up: JIT and caches, as in the other scenarios (a fresh gateway takes some 15 s of load
    // to settle: bench/small-calls.ts).
    for (const flood of floods) await wrk(`${gateway.url}${flood.path}`, { connections: 32, seconds: 3, method: flood.method, headers: flood.headers, ...(flood.lua ? { lua: flood.lua } : {}) });
    for (const connections of new Set(floods.map(connectionsOf))) await serve(connections, 6);
    // Let the warm-up's spend of the budget age out of the window before the light caller counts.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    for (const flood of floods) {
      const servedHereUs = await servedCpuAt(connectionsOf(flood));
      const before = procStat(gateway.pid).cpuS;
      // What the flood is answered, probed a second into it.
      const probe = new Promise((resolve) => setTimeout(resolve, 1000)).then(() =>
        fetch(`${gateway.url}${flood.path}`, { method: flood.method, headers: flood.lua ? { authorization: `Bearer ${admin.slice(0, -4)}AAAA` } : flood.headers }).then((r) => String(r.status)),
      );
      const [result, lightResult, status] = await Promise.all([
        // The light caller's first second warms it up untimed: the flood runs that second longer.
        wrk(`${gateway.url}${flood.path}`, { connections: connectionsOf(flood), seconds: seconds + LIGHT_WARM_UP_S, method: flood.method, headers: flood.headers, ...(flood.lua ? { lua: flood.lua } : {}) }),
        lightCaller(gateway.url, seconds, { authorization: `Bearer ${light}` }),
        probe,
      ]);
      const cpuUs = ((procStat(gateway.pid).cpuS - before) * 1e6) / result.requests;
      lines.push(
        `| ${flood.name} | ${result.requestsPerS.toFixed(0)} | ${status}${status === flood.expect ? '' : ` (expected ${flood.expect})`}, ${((result.errors / result.requests) * 100).toFixed(1)} % refused | ${cpuUs.toFixed(1)} | ${(cpuUs / servedCpuUs).toFixed(2)} | ${servedHereUs.toFixed(1)} (${connectionsOf(flood)} connections) | ${(cpuUs / servedHereUs).toFixed(2)} | ` +
          `${lightCells(lightResult)} |`,
      );
      // The 429 flood spent the budget: let it free before the next flood's light caller.
      if (flood.expect === '429') await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
    // nginx proxies /v3/ to the tenant, so the light caller is served through it during its own
    // 404 flood: the light columns' floor on this machine. node:http alone answers 404 to all.
    for (const [floor, name, lightToo] of [[nginx, 'nginx answering 404 (the floor)', true], [bare, 'node:http alone answering 404 (the floor for Node.js)', false]] as const) {
      if (!floor) continue;
      await wrk(`${floor.url}/v3-unknown`, { connections: 32, seconds: 1, method: 'GET', headers: {} });
      const before = procStat(floor.pid).cpuS;
      const [result, lightResult] = await Promise.all([
        wrk(`${floor.url}/v3-unknown`, { connections: 32, seconds: seconds + LIGHT_WARM_UP_S, method: 'GET', headers: {} }),
        lightToo ? lightCaller(floor.url, seconds, {}) : undefined,
      ]);
      const cpuUs = ((procStat(floor.pid).cpuS - before) * 1e6) / result.requests;
      lines.push(`| ${name} | ${result.requestsPerS.toFixed(0)} | 404 | ${cpuUs.toFixed(1)} | | | | ${lightCells(lightResult)} |`);
    }
  } finally {
    await nginx?.stop();
    await bare?.stop();
    await gateway.stop();
    await servingGateway.stop();
    await tenant.close();
    await unlimitedTenant.close();
    await issuer.close();
  }
  return lines.join('\n');
}
