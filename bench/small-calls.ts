// Small calls: the run-report POST, direct to the tenant (the limit) and through each proxy, at
// one connection (latency) and at 32 connections (saturation). The gateway runs with everything
// on (JWT verification, policy, admission and budget, retry wrapper, helmet, access log) but the
// budget set out of the way; the peers proxy plainly with no caller auth.
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, BUDGET_OUT_OF_THE_WAY, PROXIES, startProxy, upstreamFor, VERIFYING_PEERS, type Proxy } from './proxies.ts';
import { randomBytes } from 'node:crypto';
import { startOidcProvider } from '../src/sandbox/oidc-provider.ts';
import { cookieBrowser } from '../test/support/cookie-browser.ts';
import { freePort } from '../test/support/free-port.ts';
import { loginAs } from '../test/support/session-rig.ts';
import { inTurns, median, perRoundRatio, procStat, PROXY_CORE, startGateway, stolenMs } from './support.ts';
import { openLoopProcess, type OpenLoopResult } from './open-loop.ts';
import { wrk, type WrkResult } from './wrk.ts';
import { operation, pathOf } from '../src/operations/table.ts';

const CAMPAIGN = '2c91808571bcfcf80171c23e4b4221fc';
const PATH = pathOf(operation('startCampaignReport'), { id: CAMPAIGN, type: 'CAMPAIGN_STATUS_REPORT' });

interface Row {
  name: string;
  rps: number;
  /** The median over rounds of the gateway's req/s divided by this target's, both from the same round. */
  ratio: number;
  cpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  satP50Ms: number;
  satP99Ms: number;
  /** At half the gateway's saturated rate, open loop: the same offered load for every target. */
  halfP50Ms: number;
  halfP99Ms: number;
  /** The median over rounds of this target's p50 / p99 minus its control's, from the same seconds. */
  halfAddedP50Ms: number;
  halfAddedP99Ms: number;
  /** Each round's own p99, absolute: how far the rounds were apart. */
  halfP99sMs: number[];
  /** In each round, the p99 of the direct calls sent alongside (the control). */
  controlP99sMs: number[];
  /** The CPU time the hypervisor took from the proxy's core in each of those rounds (ms). */
  halfStolenMs: number[];
  /** The target's CPU over the timed part of those rounds, as a share of its one core. */
  halfCpuShare: number;
  /** The gateway's own event-loop delay during the half-saturation rounds (its /metrics). */
  loopP99Ms: number;
  loopMaxMs: number;
  /** Its worst event-loop delay in each round. */
  loopMaxesMs: number[];
  errors: number;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  pid: number | undefined;
  latency: WrkResult[];
  saturated: WrkResult[];
  cpu: number[];
  half: OpenLoopResult[];
  /** Direct calls sent at the same time as each half-saturation round through this target. */
  control: OpenLoopResult[];
  halfCpu: number[];
  halfStolen: number[];
  loop: Array<{ p99Ms: number; maxMs: number }>;
}

/**
 * The event-loop delay a gateway saw since its /metrics was last read: prom-client resets its
 * histogram at each read, so a read before and one after a phase measure that phase alone.
 */
async function eventLoopDelay(url: string): Promise<{ p99Ms: number; maxMs: number } | undefined> {
  const text = await fetch(`${new URL(url).origin}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  const read = (name: string) => Number(new RegExp(`^gateway_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
  return text ? { p99Ms: read('p99'), maxMs: read('max') } : undefined;
}

/**
 * A second gateway process in session mode, against the sandbox's OpenID Connect provider, and a
 * browser logged in to it: what a session-cookie call sends.
 */
async function sessionGateway(env: Record<string, string>): Promise<{ url: string; pid: number; headers: Record<string, string>; stop(): Promise<void> }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const secret = randomBytes(24).toString('hex');
  const idp = await startOidcProvider({
    personas: [{ id: 'cert-admin', name: 'Certification admin', roles: ['CERT_ADMIN'], permissions: [] }],
    clients: [{ client_id: 'bench', client_secret: secret, redirect_uris: [`${origin}/bff/callback`], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
    accessTokenTtlS: 3600,
  });
  const gateway = await startGateway({ ...env, PORT: String(port), OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: 'bench', OIDC_CLIENT_SECRET: secret, PUBLIC_ORIGIN: origin, SESSION_SECRETS: randomBytes(32).toString('hex') });
  const browser = cookieBrowser();
  await loginAs(browser, `${origin}/bff/login`, idp, 'cert-admin', `${origin}/`);
  const cookie = await browser.jar.getCookieString(origin);
  if (!cookie.includes('__Host-bff-session=')) throw new Error('bench: the session login did not complete');
  return {
    url: gateway.url,
    pid: gateway.pid,
    headers: { cookie, 'x-csrf': '1' },
    async stop() {
      await gateway.stop();
      await idp.close();
    },
  };
}

const WARM_UP_S = 15;

/** The control's rate at half saturation, as a share of the rate offered to the target. */
const CONTROL_SHARE = 0.1;

/** The median over a target's half-saturation rounds of its figure minus its control's. */
const overControl = (t: Target, figure: (r: OpenLoopResult) => number) =>
  median(t.control.map((control, i) => figure(t.half[i] as OpenLoopResult) - figure(control)));

/** Every target runs at once (the proxies idle on core 1 until their turn) and is measured in turns. */
export async function smallCallsScenario(rounds: number, seconds: number, only?: string[]): Promise<{ table: string; gatewayCpuUs: number }> {
  const tenant = await startTenant({ ...BENCH_CLIENT, campaigns: [CAMPAIGN], rateLimit: null, tokenLifetimeS: 43_200, record: false });
  const issuer = await startDevIssuer();
  const callerToken = await issuer.mint({ roles: ['CERT_ADMIN'] }, { expiresInS: 3600 });
  const upstream = await upstreamFor(tenant, issuer, BUDGET_OUT_OF_THE_WAY);
  const proxies: Proxy[] = [];
  const targets: Target[] = [];
  const target = (name: string, url: string, headers: Record<string, string>, pid: number | undefined): Target =>
    ({ name, url: `${url}${PATH}`, headers, pid, latency: [], saturated: [], cpu: [], half: [], control: [], halfCpu: [], halfStolen: [], loop: [] });
  const rows: Row[] = [];
  let halfRate = 0;
  let stopSession = async () => {};
  let stopBaseline = async () => {};
  try {
    targets.push(target('direct to the tenant (the limit)', tenant.origin, { authorization: `Bearer ${upstream.token}` }, undefined));
    for (const name of only ?? PROXIES) {
      const proxy = await startProxy(name, upstream);
      if (!proxy) continue;
      proxies.push(proxy);
      targets.push(target(proxy.name, proxy.url, { authorization: VERIFYING_PEERS.has(name) ? `Bearer ${callerToken}` : 'Bearer caller-token-ignored' }, proxy.pid));
      // The same call from a browser session: a cookie and X-CSRF instead of a bearer token.
      if (name === 'gateway') {
        // BENCH_BASELINE: another checkout of the gateway (an earlier commit), measured in the same turns.
        const baseline = process.env.BENCH_BASELINE;
        if (baseline) {
          const earlier = await startGateway(upstream.gatewayEnv, baseline);
          stopBaseline = earlier.stop;
          targets.push(target(`gateway at ${baseline}`, earlier.url, { authorization: `Bearer ${callerToken}` }, earlier.pid));
        }
        const session = await sessionGateway(upstream.gatewayEnv);
        stopSession = session.stop;
        targets.push(target('gateway (session cookie)', session.url, session.headers, session.pid));
      }
    }
    const load = (t: Target, connections: number, s: number) => wrk(t.url, { connections, seconds: s, method: 'POST', headers: t.headers });
    // Warm-up: JIT, pools and the heap settle before anything counts. 3 s was too short: after
    // it, in turns with reply-from, the gateway's first two rounds of 5 s cost 338 and 287 µs a
    // call against about 240 from the third on (reply-from 234, 196, then about 190); after 15 s
    // the first rounds read as the later ones.
    for (const t of targets) await load(t, 32, WARM_UP_S);
    await inTurns(targets, rounds, async (t) => {
      t.latency.push(await load(t, 1, seconds));
      const before = t.pid ? procStat(t.pid).cpuS : 0;
      const result = await load(t, 32, seconds);
      if (t.pid) t.cpu.push(((procStat(t.pid).cpuS - before) * 1e6) / result.requests);
      t.saturated.push(result);
    });
    // Half saturation is half the gateway's own median rate, offered identically to every target;
    // each run is timed after a 2 s warm-up at that rate on the same connections.
    const rates = (target: Target) => target.saturated.map((r) => r.requestsPerS);
    const gateway = targets.find((t) => t.name.startsWith('gateway (auth'));
    halfRate = Math.round(median(rates(gateway ?? (targets[0] as Target))) / 2);
    const direct = targets[0] as Target;
    await inTurns(targets, rounds, async (t) => {
      const gatewayUnderTest = t.name.startsWith('gateway');
      // A read of the gateway's event-loop histogram resets it: read once when the timed part starts.
      let timedFrom: Promise<unknown> | undefined;
      let cpuFrom = { cpuS: 0, at: 0 };
      let stolenFrom = 0;
      const onWarm = () => {
        stolenFrom = stolenMs(PROXY_CORE);
        if (t.pid) cpuFrom = { cpuS: procStat(t.pid).cpuS, at: performance.now() };
        if (gatewayUnderTest) timedFrom = eventLoopDelay(t.url);
      };
      const run = openLoopProcess(t.url, { ratePerS: halfRate, seconds, warmUpS: 2, method: 'POST', headers: t.headers }, onWarm);
      // The control: direct calls at a tenth of the rate in the same seconds, so that what stalls
      // the whole machine (the hypervisor, the tenant) is in both and drops out of the difference.
      const control = t === direct ? undefined : openLoopProcess(direct.url, { ratePerS: Math.round(halfRate * CONTROL_SHARE), seconds, warmUpS: 2, method: 'POST', headers: direct.headers });
      t.half.push(await run);
      if (control) t.control.push(await control);
      t.halfStolen.push(stolenMs(PROXY_CORE) - stolenFrom);
      if (t.pid) t.halfCpu.push((procStat(t.pid).cpuS - cpuFrom.cpuS) / ((performance.now() - cpuFrom.at) / 1000));
      await timedFrom;
      const loop = gatewayUnderTest ? await eventLoopDelay(t.url) : undefined;
      if (loop) t.loop.push(loop);
    });

    for (const t of targets) {
      rows.push({
        name: t.name,
        rps: median(rates(t)),
        ratio: gateway && t !== gateway && t !== targets[0] ? perRoundRatio(rates(gateway), rates(t)) : NaN,
        cpuUsPerRequest: t.cpu.length ? median(t.cpu) : NaN,
        p50Ms: median(t.latency.map((r) => r.p50Ms)),
        p99Ms: median(t.latency.map((r) => r.p99Ms)),
        satP50Ms: median(t.saturated.map((r) => r.p50Ms)),
        satP99Ms: median(t.saturated.map((r) => r.p99Ms)),
        halfP50Ms: median(t.half.map((r) => r.p50Ms)),
        halfP99Ms: median(t.half.map((r) => r.p99Ms)),
        halfAddedP50Ms: overControl(t, (r) => r.p50Ms),
        halfAddedP99Ms: overControl(t, (r) => r.p99Ms),
        halfP99sMs: t.half.map((r) => r.p99Ms),
        controlP99sMs: t.control.map((r) => r.p99Ms),
        halfStolenMs: t.halfStolen,
        halfCpuShare: t.halfCpu.length ? median(t.halfCpu) : NaN,
        loopP99Ms: t.loop.length ? median(t.loop.map((l) => l.p99Ms)) : NaN,
        loopMaxMs: t.loop.length ? median(t.loop.map((l) => l.maxMs)) : NaN,
        loopMaxesMs: t.loop.map((l) => l.maxMs),
        errors: [...t.latency, ...t.saturated, ...t.half, ...t.control].reduce((n, r) => n + r.errors, 0),
      });
    }
  } finally {
    await stopSession();
    await stopBaseline();
    for (const proxy of proxies) await proxy.stop();
    await tenant.close();
    await issuer.close();
  }

  const direct = rows[0] as Row;
  const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const lines = [
    `### Small calls: POST run-report (${rounds} rounds of ${seconds} s taken in turns, medians; wrk, 1 thread)`,
    '',
    `Half saturation: ${halfRate} req/s offered open-loop (half the gateway's rate at 32 connections) to every target, by bench/open-loop.c. Requests arriving one by one cost each proxy two to four times the CPU they cost at 32 connections (a wake-up per request): the CPU column says how busy each was at that rate. Each round through a proxy has a control: direct calls at a tenth of that rate, sent by a second generator in the same seconds; what stalls the whole machine (the hypervisor, the tenant, core 0) lands in both, so the added figures are each round's difference, not a difference of medians taken minutes apart. A stall on the proxy's own core is charged to the proxy. The event-loop delay is prom-client's histogram, which samples every 10 ms and counts the interval in.`,
    '',
    '| target | req/s at 32 conns | gateway ÷ peer (median of per-round ratios) | CPU µs/req | p50 / p99 at 1 conn (ms) | added p50 / p99 at 1 conn (ms) | added p50 / p99 at half saturation (ms; median over rounds of the target\'s minus its control\'s) | p99 of each round there, absolute (ms): the target\'s / its control\'s, with the ms of CPU the hypervisor took from the proxy\'s core in that round (steal) | CPU at half saturation (% of its core) | event-loop delay p99 / max at half saturation (ms), and the max of each round | p50 / p99 at 32 conns (ms) | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ratio = fmt(row.ratio).replace('–', '');
    const added = row === direct ? '' : `${fmt(row.p50Ms - direct.p50Ms, 3)} / ${fmt(row.p99Ms - direct.p99Ms, 3)}`;
    const addedHalf = row === direct ? `(${fmt(row.halfP50Ms, 3)} / ${fmt(row.halfP99Ms, 3)} absolute)` : `${fmt(row.halfAddedP50Ms, 3)} / ${fmt(row.halfAddedP99Ms, 3)}`;
    const halfRounds = row.halfP99sMs.map((v, i) => `${fmt(v, 1)}${row.controlP99sMs[i] === undefined ? '' : ` / ${fmt(row.controlP99sMs[i], 1)}`} (${fmt(row.halfStolenMs[i] ?? NaN, 0)})`).join(', ');
    lines.push(
      `| ${row.name} | ${row.rps.toFixed(0)} | ${ratio} | ${fmt(row.cpuUsPerRequest, 0)} | ${fmt(row.p50Ms, 3)} / ${fmt(row.p99Ms, 3)} | ${added} | ${addedHalf} | ${halfRounds} | ${fmt(row.halfCpuShare * 100, 0)} | ${Number.isFinite(row.loopP99Ms) ? `${fmt(row.loopP99Ms, 1)} / ${fmt(row.loopMaxMs, 1)} (${row.loopMaxesMs.map((v) => fmt(v, 1)).join(', ')})` : ''} | ${fmt(row.satP50Ms)} / ${fmt(row.satP99Ms)} | ${row.errors} |`,
    );
  }
  const gatewayRow = rows.find((r) => r.name.startsWith('gateway (auth'));
  return { table: lines.join('\n'), gatewayCpuUs: gatewayRow?.cpuUsPerRequest ?? NaN };
}
