// The console's first load, measured in Debian's Chromium (headless,
// driven by playwright-core) against a running server: how long the
// dashboard takes from navigation to its figures and to its trend chart
// drawn, with nothing cached (a new browser context) and on a reload, the
// API calls it makes and their server times, the JavaScript it
// downloads, and how long the work queue takes to show its first rows.
// It prints min/median/max over the runs and asserts no timing: it exits
// non-zero only when a page fails to load (an error shown, or nothing
// after 30 s). scripts/bench-console.sh seeds a database and runs it.
//
//   node test/firstload.mjs --url http://127.0.0.1:8080 --key-file keys.txt [--runs 5] [--out results.json]
//
// --key-file: a file whose first line is the API key (a manager's: the
// dashboard is a manager's page). --out: every run's figures as JSON.
// CHROMIUM names the browser (default /usr/bin/chromium).
//
// What each run does: a new context (no cache, no connections) opens
// #/dashboard already signed in (the key put in sessionStorage before the
// app starts, where the sign-in page keeps it), then reloads it (assets
// cached); then, in the same context, opens the queue in a new tab with
// the default filter (the open states), one state, and all states.
//
// The times are the page's own (performance.now(), from its navigation
// start): the figures are in when .figures gets data-state="ready"
// (a MutationObserver sees it at once); the chart is drawn when its
// canvas shows coloured pixels in the plot area (the axes, grid and
// labels are grey; the legend, above the plot, is left out), checked at
// each animation frame, i.e. in the frame that shows it; the queue has
// its first rows when table.tickets has a row. API server times are the
// browser's Resource Timing responseStart - requestStart of each /v1/
// call (time to first byte, without the wait for one of the six
// connections); JS bytes are the transferred sizes of the .js files.
// To tell the network from the page's own work it also prints when the
// first API call went out (the app's script loaded and running), when
// the last answer before the figures came, and the main thread's time in
// long tasks (over 50 ms: parsing and running scripts, rendering) before
// the figures and before the chart. --out keeps every call, script and
// long task of each load.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    "key-file": { type: "string" },
    runs: { type: "string", default: "5" },
    out: { type: "string" },
    state: { type: "string", default: "ASSIGNED" },
  },
});
if (!opt.url || !opt["key-file"]) {
  console.error("usage: node test/firstload.mjs --url URL --key-file FILE [--runs N] [--out FILE] [--state STATE]");
  process.exit(2);
}
const base = opt.url.replace(/\/$/, "");
const key = readFileSync(opt["key-file"], "utf8").split("\n").map((l) => l.trim()).find(Boolean);
const runs = Number(opt.runs);
const TIMEOUT = 30_000;
const log = (s) => console.error(`firstload: ${s}`);

const queues = [
  ["open states (default)", "#/queue"],
  [`state = ${opt.state}`, `#/queue?state=${opt.state}`],
  ["all states", "#/queue?state="],
];

/**
 * Runs in every document before the app: signs the tab in and records, in
 * window.__firstload, when the figures, the chart and the queue's rows
 * first show, and the first error box.
 */
function probe(key) {
  sessionStorage.setItem("aftersales.apiKey", key);
  const marks = (window.__firstload = {});
  const at = (name) => marks[name] ?? (marks[name] = performance.now());
  let ticketsAnswered = false;
  const check = () => {
    const alert = document.querySelector('[role="alert"]');
    if (alert && marks.error === undefined) marks.error = alert.textContent;
    if (document.querySelector('.figures[data-state="ready"]')) at("figures");
    if (document.querySelector("table.tickets tbody tr")) at("rows");
    // An empty queue: ListTickets answered and the list says so.
    else if (ticketsAnswered && document.querySelector(".sentinel .muted")) at("empty");
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  new PerformanceObserver((l) => {
    if (l.getEntries().some((e) => new URL(e.name).pathname === "/v1/tickets")) ticketsAnswered = true;
    check();
  }).observe({ type: "resource" });
  // Main-thread tasks over 50 ms (parsing and running scripts, rendering):
  // what the page waits on besides the network.
  marks.longTasks = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) marks.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: "longtask", buffered: true });

  // Saturated pixels (not grey) in the plot area: the series are drawn.
  // With no ticket opened or resolved in the window there is nothing to
  // draw but the axes: then the canvas is enough.
  const chartDrawn = () => {
    const c = document.querySelector(".chart canvas");
    if (!c || !c.width || !c.height || !c.clientHeight) return false;
    const figure = (id) => document.querySelector(`[data-figure="${id}"] .value`)?.textContent;
    if (figure("ticketsOpened") === "0" && figure("ticketsResolved") === "0") return true;
    const dpr = c.height / c.clientHeight;
    const top = Math.ceil(40 * dpr);
    const h = c.height - top - Math.ceil(28 * dpr);
    if (h <= 0) return false;
    const px = c.getContext("2d").getImageData(0, top, c.width, h).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4 * 3) {
      const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
      if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
    }
    return n > 30;
  };
  const frame = () => {
    if (marks.figures !== undefined && document.querySelector(".chart") && chartDrawn()) at("chart");
    else if (marks.error === undefined) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** /v1/ requests of page in flight, for waiting until the page's calls are all answered. */
function trackCalls(page) {
  let inflight = 0;
  const api = (r) => new URL(r.url()).pathname.startsWith("/v1/");
  page.on("request", (r) => api(r) && inflight++);
  page.on("requestfinished", (r) => api(r) && inflight--);
  page.on("requestfailed", (r) => api(r) && inflight--);
  return async function settled(deadline) {
    for (let quiet = 0; quiet < 10 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
      quiet = inflight > 0 ? 0 : quiet + 1;
    }
  };
}

/**
 * Loads a page with navigate and waits until it is shown (kind
 * "dashboard": the chart drawn; "queue": the first rows or the empty
 * list), then until no API call is in flight for 0.5 s; returns the marks
 * and the page's resource entries. Throws on an error box or a timeout.
 */
async function load(page, settled, what, navigate, kind) {
  const deadline = Date.now() + TIMEOUT;
  await navigate();
  try {
    await page.waitForFunction(
      (kind) => {
        const m = window.__firstload;
        return m && (m.error !== undefined || (kind === "dashboard" ? m.chart !== undefined : m.rows !== undefined || m.empty !== undefined));
      },
      kind,
      { timeout: TIMEOUT, polling: 50 },
    );
  } catch (e) {
    const marks = await page.evaluate(() => window.__firstload).catch(() => undefined);
    if (opt.out) await page.screenshot({ path: `${opt.out}.failed.png`, fullPage: true }).catch(() => {});
    throw new Error(`${what}: not loaded in ${TIMEOUT / 1000} s (${e.message.split("\n")[0]}; marks ${JSON.stringify(marks)})`);
  }
  const marks = await page.evaluate(() => window.__firstload);
  if (marks.error !== undefined) throw new Error(`${what}: the page shows an error: ${marks.error}`);
  await settled(deadline);
  const entries = await page.evaluate(() =>
    performance.getEntriesByType("resource").map((e) => ({
      path: new URL(e.name).pathname,
      start: e.startTime,
      server: e.responseStart - e.requestStart,
      end: e.responseEnd,
      transfer: e.transferSize,
    })),
  );
  return { marks, entries };
}

function dashboardFigures({ marks, entries }) {
  const calls = entries.filter((e) => e.path.startsWith("/v1/"));
  const server = calls.map((e) => e.server).sort((a, b) => a - b);
  const js = entries.filter((e) => e.path.endsWith(".js"));
  const busy = (until) => marks.longTasks.filter((t) => t.start < until).reduce((s, t) => s + Math.min(t.duration, until - t.start), 0);
  return {
    figures: marks.figures,
    chart: marks.chart,
    calls: calls.length,
    // Where the time goes: the app's first call (GetCaller) goes out
    // once its JavaScript has loaded and run; the figures wait for the
    // last of their answers.
    firstCall: calls.length ? Math.min(...calls.map((e) => e.start)) : undefined,
    lastAnswer: Math.max(0, ...calls.filter((e) => e.end <= marks.figures).map((e) => e.end)),
    serverP50: pick(server, 0.5),
    serverP90: pick(server, 0.9),
    serverMax: server.at(-1) ?? 0,
    jsKiB: js.reduce((s, e) => s + e.transfer, 0) / 1024,
    jsFiles: js.length,
    busyFigures: busy(marks.figures),
    busyChart: busy(marks.chart),
    js: js.map(({ path, start, end, transfer }) => ({ path, start: round(start), end: round(end), transfer })),
    longTasks: marks.longTasks.map(({ start, duration }) => ({ start: round(start), duration: round(duration) })),
    // Each call, for the JSON output: when it started and ended (ms from
    // navigation start) and its server time.
    each: calls.map(({ path, start, server, end }) => ({ path, start: round(start), server: round(server), end: round(end) })),
  };
}

function queueFigures({ marks, entries }) {
  const list = entries.find((e) => e.path === "/v1/tickets");
  return { rows: marks.rows ?? marks.empty, empty: marks.rows === undefined, listServer: list?.server, listEnd: list?.end };
}

const round = (v) => Math.round(v * 10) / 10;

/** The q-quantile of sorted xs (nearest rank). */
function pick(xs, q) {
  return xs.length ? xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] : 0;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // As the browser tests: without the background-networking flags
  // Chromium hangs on a closed network.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const results = [];
let failed = false;
try {
  for (let run = 1; run <= runs; run++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
    await ctx.addInitScript(probe, key);
    try {
      const page = await ctx.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const settled = trackCalls(page);
      const cold = dashboardFigures(
        await load(page, settled, "dashboard (cold)", () => page.goto(`${base}/#/dashboard`, { waitUntil: "commit" }), "dashboard"),
      );
      const warm = dashboardFigures(await load(page, settled, "dashboard (reload)", () => page.reload({ waitUntil: "commit" }), "dashboard"));
      const queue = {};
      for (const [name, hash] of queues) {
        const p = await ctx.newPage();
        p.on("pageerror", (e) => errors.push(e.message));
        queue[name] = queueFigures(await load(p, trackCalls(p), `queue, ${name}`, () => p.goto(`${base}/${hash}`, { waitUntil: "commit" }), "queue"));
        await p.close();
      }
      results.push({ run, cold, warm, queue, pageErrors: errors });
      log(`run ${run}/${runs}: dashboard cold ${ms(cold.figures)}/${ms(cold.chart)} ms (figures/chart), reload ${ms(warm.figures)}/${ms(warm.chart)} ms; ` +
        `queue ${queues.map(([n]) => `${n} ${ms(queue[n].rows)} ms`).join(", ")}`);
      for (const e of errors) log(`run ${run}: page error: ${e}`);
    } finally {
      await ctx.close();
    }
  }
} catch (e) {
  log(e.message);
  failed = true;
} finally {
  await browser.close();
}
if (opt.out) writeFileSync(opt.out, JSON.stringify(results, null, 2) + "\n");
if (results.length) report(results);
process.exit(failed ? 1 : 0);

function ms(v) {
  return v === undefined ? "—" : Math.round(v).toString();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The table: each figure's min, median and max over the runs. */
function report(results) {
  const n = results.length;
  const rows = [];
  const row = (label, get, digits = 0) => {
    const xs = results.map(get).filter((v) => v !== undefined);
    const v = xs.length ? [Math.min(...xs), median(xs), Math.max(...xs)].map((x) => x.toFixed(digits)) : ["—", "—", "—"];
    rows.push([label, ...v]);
  };
  const head = (label) => rows.push([label]);
  for (const [mode, title] of [["cold", "Dashboard (#/dashboard, 14 days), new browser context: nothing cached"], ["warm", "Dashboard, reload: assets cached"]]) {
    head(title);
    row("  first API call sent (app started), ms", (r) => r[mode].firstCall);
    row("  last API answer before the figures, ms", (r) => r[mode].lastAnswer);
    row("  figures shown, ms", (r) => r[mode].figures);
    row("  chart drawn, ms", (r) => r[mode].chart);
    row("  main thread in long tasks before the figures, ms", (r) => r[mode].busyFigures);
    row("  main thread in long tasks before the chart, ms", (r) => r[mode].busyChart);
    row("  API calls", (r) => r[mode].calls);
    row("  API server time p50, ms", (r) => r[mode].serverP50, 1);
    row("  API server time p90, ms", (r) => r[mode].serverP90, 1);
    row("  API server time max, ms", (r) => r[mode].serverMax, 1);
    row("  JS transferred, KiB", (r) => r[mode].jsKiB, 1);
  }
  head("Queue (#/queue) in a new tab, assets cached: first rows, ms / ListTickets server time, ms");
  for (const [name] of queues) {
    row(`  ${name}: first rows`, (r) => r.queue[name].rows);
    row(`  ${name}: ListTickets server`, (r) => r.queue[name].listServer, 1);
  }
  const w = Math.max(...rows.filter((r) => r.length > 1).map((r) => r[0].length));
  console.log(`${"".padEnd(w)}  ${"min".padStart(8)}  ${"median".padStart(8)}  ${"max".padStart(8)}   (${n} runs)`);
  for (const [label, ...v] of rows) console.log(!v.length ? label : `${label.padEnd(w)}  ${v.map((x) => x.padStart(8)).join("  ")}`);
  const empty = queues.filter(([name]) => results.some((r) => r.queue[name].empty)).map(([name]) => name);
  if (empty.length) console.log(`(no rows in: ${empty.join(", ")}; the time is to the empty list)`);
  const pageErrors = results.reduce((s, r) => s + r.pageErrors.length, 0);
  if (pageErrors) console.log(`(${pageErrors} uncaught page errors; see the log)`);
}
