// Small calls: the run-report POST, direct to the tenant (the limit) and through each proxy, at
// one connection (latency) and at 32 connections (saturation). The gateway runs with everything
// on (JWT verification, policy, admission and budget, retry wrapper, helmet, access log) but the
// budget set out of the way; the peers proxy plainly with no caller auth.
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, PROXIES, startProxy, upstreamFor } from './proxies.ts';
import { median, procStat } from './support.ts';
import { openLoop, type OpenLoopResult } from './open-loop.ts';
import { wrk, type WrkResult } from './wrk.ts';

const CAMPAIGN = '2c91808571bcfcf80171c23e4b4221fc';
const PATH = `/v3/campaigns/${CAMPAIGN}/run-report/CAMPAIGN_STATUS_REPORT`;

interface Row {
  name: string;
  rps: number;
  cpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  satP50Ms: number;
  satP99Ms: number;
  /** At half the gateway's saturated rate, open loop: the same offered load for every target. */
  halfP50Ms: number;
  halfP99Ms: number;
  errors: number;
}

export async function smallCallsScenario(rounds: number, seconds: number, only?: string[]): Promise<string> {
  const tenant = await startTenant({ ...BENCH_CLIENT, campaigns: [CAMPAIGN], rateLimit: null, tokenLifetimeS: 43_200, record: false });
  const issuer = await startDevIssuer();
  const callerToken = await issuer.mint({ roles: ['CERT_ADMIN'] }, { expiresInS: 3600 });
  // The budget set out of the way: this scenario measures the cost of the path, not the limit.
  const upstream = await upstreamFor(tenant, issuer, {
    UPSTREAM_RATE_LIMIT: '100000', UPSTREAM_RATE_WINDOW_MS: '1000', UPSTREAM_RATE_BURST: '100000',
    // 128 calls in flight: the size of @fastify/reply-from's upstream pool.
    UPSTREAM_MAX_CONCURRENCY: '128', UPSTREAM_QUEUE_SIZE: '100000', UPSTREAM_QUEUE_PER_CALLER: '100000',
  });
  const upstreamToken = upstream.token;

  // Half saturation is half the gateway's own maximum, offered identically to every target: a 2 s
  // warm-up at that rate (it opens the 256 connections), then the median of the rounds.
  let halfRate = 0;
  const halfSaturation = async (url: string, authorization: string): Promise<OpenLoopResult[]> => {
    await openLoop(url, { ratePerS: halfRate, seconds: 2, method: 'POST', authorization });
    const results: OpenLoopResult[] = [];
    for (let round = 0; round < rounds; round += 1) results.push(await openLoop(url, { ratePerS: halfRate, seconds, method: 'POST', authorization }));
    return results;
  };
  const measure = async (url: string, authorization: string, pid?: number) => {
    const latency: WrkResult[] = [];
    const saturated: WrkResult[] = [];
    const cpu: number[] = [];
    await wrk(url, { connections: 8, seconds: 2, method: 'POST', authorization }); // warm-up (JIT, pools)
    for (let round = 0; round < rounds; round += 1) {
      latency.push(await wrk(url, { connections: 1, seconds, method: 'POST', authorization }));
      const before = pid ? procStat(pid).cpuS : 0;
      const result = await wrk(url, { connections: 32, seconds, method: 'POST', authorization });
      if (pid) cpu.push(((procStat(pid).cpuS - before) * 1e6) / result.requests);
      saturated.push(result);
    }
    const rps = median(saturated.map((r) => r.requestsPerS));
    const half = halfRate > 0 ? await halfSaturation(url, authorization) : undefined;
    return {
      rps,
      halfP50Ms: half ? median(half.map((r) => r.p50Ms)) : NaN,
      halfP99Ms: half ? median(half.map((r) => r.p99Ms)) : NaN,
      cpuUsPerRequest: cpu.length ? median(cpu) : NaN,
      p50Ms: median(latency.map((r) => r.p50Ms)),
      p99Ms: median(latency.map((r) => r.p99Ms)),
      satP50Ms: median(saturated.map((r) => r.p50Ms)),
      satP99Ms: median(saturated.map((r) => r.p99Ms)),
      errors: [...latency, ...saturated].reduce((n, r) => n + r.errors, 0),
    };
  };

  const rows: Row[] = [];
  try {
    const names = only ?? PROXIES;
    const measured = new Map<string, Row>();
    // The gateway first: its saturated rate sets the half-saturation load for everyone.
    for (const name of ['gateway', ...names.filter((n) => n !== 'gateway')]) {
      if (!names.includes(name)) continue;
      const proxy = await startProxy(name, upstream);
      if (!proxy) continue;
      try {
        const authorization = name === 'gateway' ? `Bearer ${callerToken}` : 'Bearer caller-token-ignored';
        if (name === 'gateway') {
          const first = await measure(`${proxy.url}${PATH}`, authorization, proxy.pid);
          halfRate = Math.round(first.rps / 2);
          const half = await halfSaturation(`${proxy.url}${PATH}`, authorization);
          measured.set(name, { name: proxy.name, ...first, halfP50Ms: median(half.map((r) => r.p50Ms)), halfP99Ms: median(half.map((r) => r.p99Ms)) });
        } else {
          measured.set(name, { name: proxy.name, ...(await measure(`${proxy.url}${PATH}`, authorization, proxy.pid)) });
        }
      } finally {
        await proxy.stop();
      }
    }
    rows.push({ name: 'direct to the tenant (the limit)', ...(await measure(`${tenant.origin}${PATH}`, `Bearer ${upstreamToken}`)) });
    for (const name of PROXIES) {
      const row = measured.get(name);
      if (row) rows.push(row);
    }
  } finally {
    await tenant.close();
    await issuer.close();
  }

  const direct = rows[0] as Row;
  const gateway = rows.find((r) => r.name.startsWith('gateway'));
  const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const lines = [
    `### Small calls: POST run-report (${rounds} rounds of ${seconds} s, medians; wrk, 1 thread)`,
    '',
    `Half saturation: ${halfRate} req/s offered open-loop (half the gateway's rate at 32 connections) to every target.`,
    '',
    '| target | req/s at 32 conns | gateway ÷ peer | CPU µs/req | p50 / p99 at 1 conn (ms) | added p50 / p99 at 1 conn (ms) | added p50 / p99 at half saturation (ms) | p50 / p99 at 32 conns (ms) | errors |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ratio = gateway && row !== gateway && row !== direct ? fmt(gateway.rps / row.rps) : '';
    const added = row === direct ? '' : `${fmt(row.p50Ms - direct.p50Ms, 3)} / ${fmt(row.p99Ms - direct.p99Ms, 3)}`;
    const addedHalf = row === direct ? `(${fmt(row.halfP50Ms, 3)} / ${fmt(row.halfP99Ms, 3)} absolute)` : `${fmt(row.halfP50Ms - direct.halfP50Ms, 3)} / ${fmt(row.halfP99Ms - direct.halfP99Ms, 3)}`;
    lines.push(
      `| ${row.name} | ${row.rps.toFixed(0)} | ${ratio} | ${fmt(row.cpuUsPerRequest, 0)} | ${fmt(row.p50Ms, 3)} / ${fmt(row.p99Ms, 3)} | ${added} | ${addedHalf} | ${fmt(row.satP50Ms)} / ${fmt(row.satP99Ms)} | ${row.errors} |`,
    );
  }
  return lines.join('\n');
}
