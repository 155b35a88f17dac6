// Offered load a multiple of the upstream budget (SailPoint's 100 per 10 s), open loop: one caller
// floods, one light caller asks once a second. Reports the share of the budget used, upstream 429s,
// how fast over-budget calls are refused, the light caller's success rate and the gateway's memory.
// A one-shot burst is measured the same way, against what the budget hands out within the queue wait.
import { Agent } from 'undici';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, upstreamFor } from './proxies.ts';
import { MiB, percentile, procStat, startGateway } from './support.ts';
import { operation, pathOf } from '../src/operations/table.ts';

const LIMIT = 100;
const WINDOW_MS = 10_000;
const BURST = 10;
const CAMPAIGN = '2c91808571bcfcf80171c23e4b4221fc';
// UPSTREAM_QUEUE_WAIT_MS's default, which the bench's gateway keeps.
const QUEUE_WAIT_MS = 5000;
// A refusal this long after the call was sent came late: the call was admitted, then pushed past its deadline.
const LATE_MS = 500;

interface Outcome {
  caller: 'flood' | 'light';
  status: number;
  latencyMs: number;
}

interface Rig {
  tenant: Awaited<ReturnType<typeof startTenant>>;
  gatewayPid: number;
  outcomes: Outcome[];
  send(caller: Outcome['caller']): void;
  settled(): Promise<void>;
}

/** Tenant, issuer and gateway with the overload budget, and an open-loop sender for two callers. */
async function withRig<T>(use: (rig: Rig) => Promise<T>): Promise<T> {
  const tenant = await startTenant({ ...BENCH_CLIENT, campaigns: [CAMPAIGN], tokenLifetimeS: 43_200, rateLimit: { limit: LIMIT, windowMs: WINDOW_MS } });
  const issuer = await startDevIssuer();
  const upstream = await upstreamFor(tenant, issuer, {
    UPSTREAM_RATE_LIMIT: String(LIMIT), UPSTREAM_RATE_WINDOW_MS: String(WINDOW_MS), UPSTREAM_RATE_BURST: String(BURST),
  });
  const gateway = await startGateway(upstream.gatewayEnv);
  const tokens = {
    flood: `Bearer ${await issuer.mint({ sub: 'flooder', roles: ['CERT_ADMIN'] }, { expiresInS: 3600 })}`,
    light: `Bearer ${await issuer.mint({ sub: 'light', roles: ['CERT_ADMIN'] }, { expiresInS: 3600 })}`,
  };
  const agent = new Agent({ connections: 1024 });
  const url = new URL(`${gateway.url}${pathOf(operation('startCampaignReport'), { id: CAMPAIGN, type: 'CAMPAIGN_STATUS_REPORT' })}`);
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();

  const send = (caller: Outcome['caller']) => {
    const started = performance.now();
    const done = agent
      .request({ origin: url.origin, path: url.pathname, method: 'POST', headers: { authorization: tokens[caller] } })
      .then(async (response) => {
        await response.body.dump();
        outcomes.push({ caller, status: response.statusCode, latencyMs: performance.now() - started });
      })
      .catch(() => {
        outcomes.push({ caller, status: 0, latencyMs: performance.now() - started });
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  try {
    return await use({ tenant, gatewayPid: gateway.pid, outcomes, send, settled: async () => void (await Promise.all(inFlight)) });
  } finally {
    await agent.close();
    await gateway.stop();
    await tenant.close();
    await issuer.close();
  }
}

/** One table row: what was offered, what was served and refused, and what the budget allowed. */
function row(label: string, rig: Rig, upstreamCalls: number, possible: number, rss: string): string {
  const { outcomes, tenant } = rig;
  const shedLatencies = outcomes.filter((o) => o.status === 429).map((o) => o.latencyMs);
  const light = outcomes.filter((o) => o.caller === 'light');
  const lightOk = light.filter((o) => o.status === 202).length;
  const served = outcomes.filter((o) => o.status === 202).length;
  const refused = shedLatencies.length;
  // Refused after waiting, or only when the whole queue wait was over: admission should have known sooner.
  const late = shedLatencies.filter((ms) => ms >= LATE_MS).length;
  const atDeadline = shedLatencies.filter((ms) => ms >= QUEUE_WAIT_MS - 50).length;
  const other = outcomes.length - served - refused;
  return (
    `| ${label} | ${outcomes.length} | ${served} | ${refused} | ${((upstreamCalls / possible) * 100).toFixed(1)} % (${upstreamCalls}/${possible}) | ${tenant.rateLimited} | ` +
    `${percentile(shedLatencies, 50).toFixed(1)} / ${percentile(shedLatencies, 99).toFixed(1)} ms | ${late} / ${atDeadline} | ${lightOk}/${light.length} | ${other} | ${rss} |`
  );
}

/** The most any interval of this length may hold: the window's limit, and the pacing's burst plus one unit per interval. */
const possibleIn = (ms: number) => Math.min(LIMIT * Math.ceil(ms / WINDOW_MS), BURST + Math.floor((ms * LIMIT) / WINDOW_MS));

export function overloadScenario(multiple: number, seconds: number): Promise<string> {
  return withRig(async (rig) => {
    const before = procStat(rig.gatewayPid);
    const offeredPerSecond = (LIMIT / (WINDOW_MS / 1000)) * multiple;
    const startedAt = performance.now();
    let sent = 0;
    let lightSent = 0;
    // Peak RSS in each half of the run: flat memory means the second half grows no further.
    const peakRss = [before.rssBytes, before.rssBytes];
    // Open loop: send on schedule whatever the answers do, as real front-ends would.
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsedS = (performance.now() - startedAt) / 1000;
        if (elapsedS >= seconds) {
          clearInterval(tick);
          resolve();
          return;
        }
        for (; lightSent < Math.floor(elapsedS) + 1; lightSent += 1, sent += 1) rig.send('light');
        for (; sent < Math.floor(elapsedS * offeredPerSecond); sent += 1) rig.send('flood');
        const half = elapsedS < seconds / 2 ? 0 : 1;
        peakRss[half] = Math.max(peakRss[half] as number, procStat(rig.gatewayPid).rssBytes);
        if (process.env.BENCH_TRACE_RSS && Math.floor(elapsedS * 100) % 500 === 0) console.error(`t=${elapsedS.toFixed(0)}s rss=${(procStat(rig.gatewayPid).rssBytes / MiB).toFixed(0)} MiB`);
      }, 10);
    });
    await rig.settled();
    // Budget used while the load was offered: calls that reached the tenant in that interval,
    // against the most any interval of that length may hold.
    const upstreamCalls = rig.tenant.requests.filter((r) => r.atMs >= startedAt && r.atMs < startedAt + seconds * 1000).length;
    const rss = `${(before.rssBytes / MiB).toFixed(0)} → ${((peakRss[0] as number) / MiB).toFixed(0)} → ${((peakRss[1] as number) / MiB).toFixed(0)} MiB`;
    return row(`${multiple}× budget, ${seconds} s`, rig, upstreamCalls, possibleIn(seconds * 1000), rss);
  });
}

/**
 * A one-shot burst: `multiple` × the limit sent at once by one caller, and a light caller once,
 * halfway through the queue wait. Nothing waits longer than the queue wait, so the budget it can
 * use is what the window hands out in that time, counted by the tenant from its first call.
 */
export function burstScenario(multiple: number): Promise<string> {
  return withRig(async (rig) => {
    const before = procStat(rig.gatewayPid);
    const startedAt = performance.now();
    // Sent in slices with a turn of the event loop between them: the tenant runs in this process,
    // and a loop that sent all 600 before it let the tenant read the first ones stamped their
    // arrival up to 70 ms late, so the interval judged from the first arrival held one unit more.
    for (let i = 0; i < multiple * LIMIT; i += 1) {
      rig.send('flood');
      if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, QUEUE_WAIT_MS / 2));
    rig.send('light');
    const peak = procStat(rig.gatewayPid).rssBytes;
    await rig.settled();
    // The 600 calls take a few hundred milliseconds to send, so the last of them may be served up
    // to that much after the first one's queue wait: the budget is judged over one queue wait
    // (and a little) from the first call that reached the tenant, against what that interval may hold.
    const reached = rig.tenant.requests.filter((r) => r.atMs >= startedAt).map((r) => r.atMs);
    const judgedMs = QUEUE_WAIT_MS + 50;
    const upstreamCalls = reached.filter((at) => at < Math.min(...reached) + judgedMs).length;
    const rss = `${(before.rssBytes / MiB).toFixed(0)} → ${(Math.max(peak, procStat(rig.gatewayPid).rssBytes) / MiB).toFixed(0)} MiB`;
    return row(`one-shot burst of ${multiple}× the limit (${multiple * LIMIT} calls at once)`, rig, upstreamCalls, possibleIn(judgedMs), rss);
  });
}

export const OVERLOAD_HEADER = [
  "| offered load | calls | served (202) | refused (429) | budget used | upstream 429s | time to refuse p50 / p99 | refused late: after 0.5 s / only at the queue wait's end | light caller served | other errors | gateway RSS: start → peak (1st half → 2nd half) |",
  '|---|---|---|---|---|---|---|---|---|---|---|',
].join('\n');
