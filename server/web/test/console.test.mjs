// Browser tests of the web console: Debian's Chromium driven by
// playwright-core against a real server with seeded data. Screenshots of
// each page go to ../screenshots/. Run with scripts/web-test.sh.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { call, seed, startServer } from "./server.mjs";

const shots = fileURLToPath(new URL("../screenshots/", import.meta.url));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

let server, data, browser, profile;

before(async () => {
  server = await startServer();
  data = await seed(server.base, server.adminKey);
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "aftersales-chromium-"));
  // Without the background-networking flags Chromium hangs on a closed
  // network; a fresh profile each run.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 1024, height: 768 },
    timezoneId: "Asia/Shanghai",
    locale: "zh-CN",
  });
  browser.setDefaultTimeout(15_000);
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await server?.stop();
});

/** A new tab (its own sessionStorage, so its own sign-in) on the console. */
async function open(width = 1024) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 900 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.errors = errors;
  await page.goto(server.base + "/");
  return page;
}

async function signIn(page, key) {
  await page.getByLabel(/API 密钥|API key/).fill(key);
  await page.getByRole("button", { name: /登录|Sign in/ }).click();
}

const rowsOf = (page) => page.locator("table.tickets tbody tr");

// axe-core's source, evaluated in the page: an <script> tag would be
// refused by the console's Content-Security-Policy, as it should be.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const audited = new Set();

/**
 * Audits the page as it is with axe-core (WCAG 2.0-2.2 A and AA rules,
 * colour contrast included) and fails on serious or critical violations,
 * naming the rule and the elements.
 */
async function audit(page, what) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] } }),
  );
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " " + (n.failureSummary ?? "").replace(/\s+/g, " ")).join("\n    ")}`);
  assert.deepEqual(report, [], `accessibility of ${what}`);
  const minor = res.violations.filter((v) => !bad.includes(v)).map((v) => `${v.id} (${v.impact})`);
  console.log(`# axe, ${what}: ${res.passes.length} rules passed, ${res.incomplete.length} to review by hand${res.incomplete.length ? ` (${res.incomplete.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`).join("; ")})` : ""}${minor.length ? `, minor: ${minor.join(", ")}` : ""}`);
  assert.ok(res.passes.some((v) => v.id === "color-contrast") || res.incomplete.some((v) => v.id === "color-contrast"), "contrast was checked");
  audited.add(what);
}

test("a bad key gets the sign-in page with an error", async () => {
  const page = await open();
  await signIn(page, "ask_nosuchkey_0123456789abcdefghijklmnop");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /密钥无效/);
  assert.equal(await page.getByLabel("API 密钥").isVisible(), true);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a refused key is not kept");
  await page.screenshot({ path: join(shots, "signin-error.png") });
  await audit(page, "sign-in with an error");
  await page.close();
});

test("a manager signs in and sees the whole queue by SLA due time", async () => {
  const page = await open();
  await page.screenshot({ path: join(shots, "signin.png") });
  await audit(page, "sign-in");
  const reads = [];
  page.on("request", (r) => {
    const p = new URL(r.url()).pathname;
    if (p.startsWith("/v1/customers/")) reads.push(p);
  });
  await signIn(page, data.manager.key);
  await page.getByRole("heading", { name: "工作队列" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 4);
  // The manager's pages and role.
  assert.deepEqual(await page.locator("header nav a").allInnerTexts(), ["工作队列", "投诉", "回访", "上岗资格", "服务质量", "故障统计"]);
  assert.equal(await page.locator(".who").innerText(), "经理");
  // Customer and product by display name: one read each for the four
  // rows of one customer's one product, not one per row.
  await page.waitForFunction(() => [...document.querySelectorAll("td.customer")].every((td) => td.textContent.startsWith("Zhang San")));
  assert.match(await rowsOf(page).first().locator("td.customer").innerText(), /Zhang San\s+WM-8000 · WM8-2024-000123/);
  assert.deepEqual(reads.sort(), [data.customer.name, data.product.name].map((n) => `/v1/${n}`).sort());
  const titles = await rowsOf(page).locator("td:nth-child(2) a").allInnerTexts();
  // URGENT first: the earliest resolve due time.
  assert.equal(titles[0], "Drum does not spin");
  assert.deepEqual([...titles].sort(), ["Door seal leaks", "Drum does not spin", "Install a dryer", "Noisy pump"]);
  assert.equal(await page.locator(".countdown").count(), 4);
  assert.ok(!page.url().includes("ask_"), "the key is never in the URL");
  assert.ok(!(await page.evaluate(() => JSON.stringify(localStorage))).includes("ask_"), "nor in localStorage");
  // The priority filter maps to the API's filter syntax.
  await page.getByLabel("优先级").selectOption("URGENT");
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 1);
  assert.match(await page.locator("code.filter").innerText(), /priority = URGENT/);
  await page.getByLabel("优先级").selectOption("");
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 4);
  // All states come newest first: a finished ticket's due time means nothing.
  const firstTitle = () => page.locator("table.tickets tbody tr td:nth-child(2) a").first().innerText();
  await page.getByLabel("状态").selectOption("");
  await page.getByText("按创建时间排序，最新的在前").waitFor();
  await page.waitForFunction(() => document.querySelector("table.tickets tbody tr td:nth-child(2) a")?.textContent === "Install a dryer");
  assert.deepEqual(await rowsOf(page).locator("td:nth-child(2) a").allInnerTexts(), ["Install a dryer", "Noisy pump", "Door seal leaks", "Drum does not spin"]);
  await page.getByLabel("状态").selectOption("open");
  await page.getByText("按解决时限排序，最紧急的在前").waitFor();
  await page.waitForFunction(() => document.querySelector("table.tickets tbody tr td:nth-child(2) a")?.textContent === "Drum does not spin");
  assert.equal(await firstTitle(), "Drum does not spin");
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 4);
  await page.screenshot({ path: join(shots, "queue.png"), fullPage: true });
  await audit(page, "queue");
  // English, at tablet width.
  await page.getByLabel(/语言|Language/).first().selectOption("en");
  await page.setViewportSize({ width: 768, height: 900 });
  await page.getByRole("heading", { name: "Work queue" }).waitFor();
  await page.screenshot({ path: join(shots, "queue-en-tablet.png"), fullPage: true });
  await audit(page, "queue in English at tablet width");
  await page.getByLabel("Language").first().selectOption("zh-CN");
  // The dashboard before the technician resolves anything.
  await page.getByRole("link", { name: "服务质量" }).click();
  await page.locator('.figures[data-state="ready"]').waitFor();
  assert.equal(await page.locator('[data-figure="ticketsResolved"] .value').innerText(), "0");
  await page.getByRole("link", { name: "工作队列" }).click();
  // Sign out: back to the sign-in page, the key gone.
  await page.getByRole("button", { name: "退出" }).click();
  await page.getByLabel("API 密钥").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a technician's key sees only its tickets and works one from the queue to resolved", async () => {
  const page = await open();
  await signIn(page, data.tech.key);
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length > 0);
  await page.waitForTimeout(300);
  const titles = await rowsOf(page).locator("td:nth-child(2) a").allInnerTexts();
  assert.deepEqual(titles.sort(), ["Door seal leaks", "Drum does not spin"]);
  // A technician's console: the queue only, no manager or desk pages.
  assert.deepEqual(await page.locator("header nav a").allInnerTexts(), ["工作队列"]);
  assert.equal(await page.locator(".who").innerText(), "技师");

  await page.getByRole("link", { name: "Drum does not spin" }).click();
  await page.getByRole("heading", { name: "Drum does not spin" }).waitFor();
  assert.match(page.url(), /#\/tickets\//);
  // The moves a technician may make on its own ticket: accept, not dispatch.
  await page.getByRole("button", { name: "接单", exact: true }).waitFor();
  assert.equal(await page.locator("form.resolve").count(), 0, "no dispatch form for a technician");
  await page.locator("dl.fields dd", { hasText: "Zhang San" }).waitFor();
  await page.locator("dl.fields dd", { hasText: "WM-8000 · WM8-2024-000123" }).waitFor();
  for (const [button, state] of [["接单", "已接单"], ["开始处理", "处理中"]]) {
    await page.getByRole("button", { name: button, exact: true }).click();
    await page.locator("dl.fields .badge", { hasText: state }).waitFor();
  }
  await page.getByLabel("故障类别").fill("ELECTRICAL");
  await page.getByLabel("故障代码").fill("E21");
  await page.getByLabel("处理说明").fill("Replaced the motor brushes");
  await page.locator("form.resolve").getByRole("button", { name: "解决" }).click();
  await page.locator("dl.fields .badge", { hasText: "已解决" }).waitFor();
  await page.locator("ol.timeline li", { hasText: "RESOLVED" }).waitFor();
  const events = await page.locator("ol.timeline li strong").allInnerTexts();
  for (const e of ["CREATED", "ASSIGNED", "ACCEPTED", "STARTED", "RESOLVED"]) assert.ok(events.includes(e), `${e} in ${events}`);
  await page.screenshot({ path: join(shots, "ticket.png"), fullPage: true });
  await audit(page, "ticket");

  const t = await (await fetch(`${server.base}/v1/${data.tickets.drum.name}`, { headers: { Authorization: `Bearer ${data.manager.key}` } })).json();
  assert.equal(t.state, "RESOLVED");
  assert.equal(t.resolution.faultCode, "E21");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the dashboard shows the service-quality figures, and the resolved ticket in them", async () => {
  const page = await open();
  await signIn(page, data.manager.key);
  await page.getByRole("link", { name: "服务质量" }).click();
  const resolved = page.locator('[data-figure="ticketsResolved"] .value');
  const opened = page.locator('[data-figure="ticketsOpened"] .value');
  // The rollup loop runs every second here, and counts a change 2 s after
  // it was made (--report-rollup-settle; a minute by default): reload
  // until it counted the resolution of the previous test.
  const started = Date.now();
  for (;;) {
    await page.locator('.figures[data-state="ready"]').waitFor();
    if ((await resolved.innerText()) === "1") break;
    assert.ok(Date.now() - started < 150_000, `tickets resolved still ${await resolved.innerText()}`);
    await page.waitForTimeout(2000);
    await page.reload();
  }
  assert.equal(await opened.innerText(), "4");
  assert.equal(await page.locator('[data-figure="sla"] .value').innerText(), "100.0%");
  // Grouped by staff: the technician's row counts the resolution.
  await page.locator("table.breakdown tbody tr", { has: page.locator("th", { hasText: "Wang Wei" }) })
    .locator("td:nth-child(3)", { hasText: /^1$/ }).waitFor();
  // First load of the dashboard, from navigation to figures and chart.
  const t0 = Date.now();
  await page.reload();
  await page.locator('.figures[data-state="ready"]').waitFor();
  await page.locator(".chart canvas").waitFor();
  console.log(`# dashboard first load: ${Date.now() - t0} ms (17 calls: 16 GetServiceMetrics, 1 GetCostMetrics)`);
  // Drill-down: the day the tickets were opened links to them (as its
  // bar in the chart does), from the keyboard-reachable day table.
  await page.locator("details.daily summary").click();
  await page.locator("details.daily tbody tr", { has: page.locator("td:nth-child(2)", { hasText: /^4$/ }) }).getByRole("link").click();
  await page.getByRole("heading", { name: "工作队列" }).waitFor();
  assert.match(await page.locator("code.filter").innerText(), /create_time >= \S+ AND create_time < /);
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 4);
  await page.goBack();
  await page.locator('.figures[data-state="ready"]').waitFor();
  await page.locator(".chart canvas").waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });
  await audit(page, "dashboard");

  // Complaints by deadline: the CRITICAL one (acknowledge within an hour) first.
  await page.getByRole("link", { name: "投诉" }).click();
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 2);
  assert.deepEqual(await page.locator("table.tickets tbody tr td:nth-child(2)").evaluateAll((tds) => tds.map((td) => td.firstChild.textContent)),
    ["Smoke from the dryer", "The technician came late"]);
  await page.locator("table.tickets tbody tr td:nth-child(2) .muted", { hasText: "Zhang San" }).first().waitFor();
  await page.screenshot({ path: join(shots, "complaints.png"), fullPage: true });
  await audit(page, "complaints");
  // Acknowledged, a complaint leaves the first queue for the one of those
  // being resolved, which is ordered by the resolution deadline.
  await call(server.base, data.agent.key, "POST", `/v1/${data.complaints.late.name}:acknowledge`, {});
  await page.getByLabel("阶段").selectOption("resolve");
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 1
    && document.querySelector("table.tickets tbody tr td:nth-child(2)").firstChild.textContent === "The technician came late");
  assert.match(await page.locator("code.filter").innerText(), /^state != RECEIVED AND state != RESOLVED AND state != CLOSED$/);
  assert.equal(await page.locator("table.tickets thead th").first().innerText(), "解决时限");
  await page.getByLabel("阶段").selectOption("ack");
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 1
    && document.querySelector("table.tickets tbody tr td:nth-child(2)").firstChild.textContent === "Smoke from the dryer");
  // Follow-ups due: resolving the ticket scheduled one.
  // The complaints' table, still there for a moment after the click, has
  // rows of the same kind: wait for the follow-ups' own heading and row.
  await page.getByRole("link", { name: "回访" }).click();
  await page.getByRole("heading", { name: "回访" }).waitFor();
  await page.locator("table.tickets tbody tr a", { hasText: data.tickets.drum.name.split("/")[1] }).waitFor();
  assert.equal(await page.locator("table.tickets tbody tr").count(), 1);
  assert.equal(await page.locator("table.tickets tbody tr a").innerText(), data.tickets.drum.name.split("/")[1]);
  await page.locator("table.tickets tbody tr td.customer", { hasText: "Zhang San" }).waitFor();
  await page.screenshot({ path: join(shots, "followups.png"), fullPage: true });
  await audit(page, "follow-ups");

  await page.getByRole("link", { name: "故障统计" }).click();
  await page.locator("table.tickets tbody tr", { hasText: "E21" }).waitFor();
  await page.locator(".chart canvas").waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, "faults.png"), fullPage: true });
  await audit(page, "fault statistics");
  // CSV export: the API's CSV, downloaded with the key in a header.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "导出 CSV" }).click()]);
  const csv = await (await import("node:fs/promises")).readFile(await download.path(), "utf8");
  assert.match(csv.split("\n")[0], /fault_code/);
  assert.match(csv, /E21/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the queue loads the next page as it scrolls (page tokens), in SLA due order across pages", async () => {
  const asAgent = (m, p, b) => call(server.base, data.agent.key, m, p, b);
  // 55 LOW tickets (due in 5 days), then 5 URGENT ones (due in 8 hours):
  // created last, due first, so a queue sorting only its loaded pages
  // (by creation) would show them only after scrolling to the end.
  for (let i = 0; i < 55; i++) {
    await asAgent("POST", "/v1/tickets", { customer: data.customer.name, type: "MAINTENANCE", channel: "APP", priority: "LOW", title: `Yearly service ${i}` });
  }
  for (let i = 0; i < 5; i++) {
    await asAgent("POST", "/v1/tickets", { customer: data.customer.name, type: "REPAIR", channel: "APP", priority: "URGENT", title: `Urgent callback ${i}` });
  }
  const page = await open();
  await signIn(page, data.manager.key);
  // 63 open tickets (3 seeded, 60 new): a first page of 50 that starts
  // with the urgent ones, then the rest on scrolling.
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 50);
  const first = await rowsOf(page).locator("td:nth-child(2) a").allInnerTexts();
  assert.deepEqual(first.slice(0, 5), [0, 1, 2, 3, 4].map((i) => `Urgent callback ${i}`));
  await page.locator(".sentinel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 63);
  await page.getByText("没有更多了").waitFor();
  const dues = await rowsOf(page).evaluateAll((trs) => trs.map((tr) => Date.parse(tr.dataset.due)));
  assert.ok(dues.every((d, i) => i === 0 || dues[i - 1] <= d), "due times never decrease down the queue");
  assert.equal(new Set(await rowsOf(page).evaluateAll((trs) => trs.map((tr) => tr.dataset.ticket))).size, 63, "no ticket twice");
  // The priority filter keeps the order and the paging: 56 LOW tickets.
  await page.getByLabel("优先级").selectOption("LOW");
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 50);
  await page.locator(".sentinel").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length === 56);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the qualification board shows who is on duty and who is retraining until when", async () => {
  const admin = (m, p, b) => call(server.base, server.adminKey, m, p, b);
  // A course required of trainers: one trainer fails it (suspended,
  // retraining), another is never assessed (trainee).
  const failing = await admin("POST", "/v1/staff", { displayName: "Zhou Min", role: "TRAINER", team: "training" });
  const trainer = await admin("POST", "/v1/staff", { displayName: "Qian Hao", role: "TRAINER", team: "training" });
  const course = await admin("POST", "/v1/courses", {
    displayName: "Coaching skills", category: "SERVICE_SKILLS", requiredRoles: ["TRAINER"], passingScore: 70,
    weights: { attitude: 25, efficiency: 25, quality: 25, knowledge: 25 }, validity: "31536000s",
  });
  await admin("POST", `/v1/${failing.name}/assessments`, { course: course.name, scores: { attitude: 50, efficiency: 50, quality: 50, knowledge: 50 } });

  const page = await open();
  await signIn(page, data.manager.key);
  await page.getByRole("link", { name: "上岗资格" }).click();
  const col = (c) => page.locator(`[data-column="${c}"] li`);
  await col("SUSPENDED").first().waitFor();
  assert.deepEqual(await col("QUALIFIED").locator("strong").allInnerTexts(), ["Zhao Min", "Li Na", "Wang Wei", "Chen Jie"]);
  assert.deepEqual(await col("TRAINEE").locator("strong").allInnerTexts(), ["Qian Hao"]);
  assert.deepEqual(await col("SUSPENDED").locator("strong").allInnerTexts(), ["Zhou Min"]);
  await page.getByText("再培训截止").waitFor();
  await page.screenshot({ path: join(shots, "qualification.png"), fullPage: true });
  await audit(page, "qualification");
  assert.deepEqual(page.errors, []);
  await page.close();

  // A trainer starts on the board: the API lists a trainer no tickets.
  const key = (await admin("POST", "/v1/apiKeys", { staff: trainer.name, displayName: "Qian Hao console" })).secret;
  const tp = await open();
  await signIn(tp, key);
  await tp.getByRole("heading", { name: "上岗资格" }).waitFor();
  assert.deepEqual(await tp.locator("header nav a").allInnerTexts(), ["工作队列", "上岗资格"]);
  assert.equal(await tp.locator(".who").innerText(), "培训师");
  await tp.close();
});

test("a key revoked during the session brings back the sign-in page with an error", async () => {
  const page = await open();
  await signIn(page, data.tech2.key);
  await page.locator("table.tickets tbody tr", { hasText: "Noisy pump" }).waitFor();
  const href = await page.getByRole("link", { name: "Noisy pump" }).getAttribute("href");
  const id = data.tech2.key.split("_")[1];
  await call(server.base, server.adminKey, "POST", `/v1/apiKeys/${id}:revoke`, {});
  // The next call with the key fails: the ticket page's, or one the queue
  // may still make after the revocation (the names of its customers and
  // products), which takes the link away before a click could reach it.
  // Either way the sign-in page comes back with the error.
  await page.evaluate((h) => {
    location.hash = h;
  }, href);
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /密钥无效/);
  assert.equal(await page.getByLabel("API 密钥").isVisible(), true);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.close();
});

test("no API key secret reaches the server's log", () => {
  const logs = server.logs();
  for (const k of [data.manager.key, data.tech.key, data.tech2.key, data.agent.key]) {
    assert.ok(!logs.includes(k.split("_").slice(2).join("_")), "a key's secret is in the log");
  }
});

test("a manager dispatches a new ticket to a qualified technician", async () => {
  const page = await open();
  await signIn(page, data.manager.key);
  await page.getByRole("link", { name: "Install a dryer" }).click();
  await page.getByRole("heading", { name: "Install a dryer" }).waitFor();
  await page.locator("dl.fields .badge", { hasText: "新建" }).waitFor();
  await page.getByLabel("处理人").selectOption({ label: "Chen Jie · 技师" });
  await page.getByLabel("备注").fill("Near the depot");
  await page.locator("form.resolve").getByRole("button", { name: "派单" }).click();
  await page.locator("dl.fields .badge", { hasText: "已派单" }).waitFor();
  await page.locator("dl.fields dd", { hasText: "Chen Jie" }).first().waitFor();
  await page.locator("ol.timeline li", { hasText: "ASSIGNED" }).waitFor();
  await page.screenshot({ path: join(shots, "ticket-assign.png"), fullPage: true });
  await audit(page, "ticket with the dispatch form");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a partner shop's key sees only its shop's tickets and no manager pages", async () => {
  const admin = (m, p, b) => call(server.base, server.adminKey, m, p, b);
  const asAgent = (m, p, b) => call(server.base, data.agent.key, m, p, b);
  const shop = await admin("POST", "/v1/partners", { displayName: "Pudong Fix-It", region: "Pudong" });
  const key = (await admin("POST", "/v1/apiKeys", { partner: shop.name, displayName: "Pudong Fix-It console" })).secret;
  const t = await asAgent("POST", "/v1/tickets", {
    customer: data.customer.name, product: data.product.name, type: "REPAIR", channel: "PHONE", priority: "HIGH", title: "Dryer door hinge",
  });
  // The shop's own technician (no course is required of technicians here, so qualified).
  await call(server.base, key, "POST", "/v1/staff", { displayName: "Sun Li", role: "TECHNICIAN" });
  await asAgent("POST", `/v1/${t.name}:assign`, { partner: shop.name });

  const page = await open();
  await signIn(page, key);
  await page.getByRole("heading", { name: "工作队列" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("table.tickets tbody tr").length > 0);
  await page.waitForTimeout(300);
  assert.deepEqual(await rowsOf(page).locator("td:nth-child(2) a").allInnerTexts(), ["Dryer door hinge"], "its shop's ticket only");
  assert.equal(await page.locator(".who").innerText(), "合作网点");
  // A shop's pages: its queue, its technicians' qualification, its faults.
  assert.deepEqual(await page.locator("header nav a").allInnerTexts(), ["工作队列", "上岗资格", "故障统计"]);
  // The manager's and the desk's pages, opened by address, say so and ask nothing of the API.
  for (const p of ["dashboard", "complaints", "followups"]) {
    const calls = [];
    const f = (r) => r.url().includes("/v1/") && calls.push(r.url());
    page.on("request", f);
    await page.goto(`${server.base}/#/${p}`);
    await page.getByRole("heading", { name: "无权访问" }).waitFor();
    await page.getByRole("alert").waitFor();
    page.off("request", f);
    assert.deepEqual(calls.filter((u) => !u.includes("/v1/caller")), [], `${p} calls nothing`);
  }
  await audit(page, "a page the role may not see");
  // Its ticket: the shop accepts and dispatches (to its own technicians); it does not close.
  await page.goto(`${server.base}/#/tickets/${t.name.split("/")[1]}`);
  await page.getByRole("heading", { name: "Dryer door hinge" }).waitFor();
  await page.getByRole("button", { name: "接单", exact: true }).waitFor();
  assert.equal(await page.getByRole("button", { name: "关闭", exact: true }).count(), 0);
  await page.locator("dl.fields dd", { hasText: "Pudong Fix-It" }).waitFor();
  await page.screenshot({ path: join(shots, "partner-ticket.png"), fullPage: true });
  await audit(page, "a partner's ticket");
  // Its other pages work with its key: its technicians' qualification, its faults.
  await page.getByRole("link", { name: "上岗资格" }).click();
  await page.locator('[data-column="QUALIFIED"] li', { hasText: "Sun Li" }).waitFor();
  assert.deepEqual(await page.locator("[data-column] li strong").allInnerTexts(), ["Sun Li"], "its own technicians only");
  await page.getByRole("link", { name: "故障统计" }).click();
  await page.getByRole("heading", { name: "故障统计" }).waitFor();
  await page.waitForTimeout(500);
  assert.equal(await page.getByRole("alert").count(), 0, "no error on the shop's pages");
  // The API agrees: another shop's ticket is not found, the dashboard's figures are refused.
  const other = await fetch(`${server.base}/v1/${data.tickets.leak.name}`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(other.status, 404);
  const cost = await fetch(`${server.base}/v1/costMetrics`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(cost.status, 403);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("every page passed the accessibility audit", () => {
  for (const p of ["sign-in", "sign-in with an error", "queue", "queue in English at tablet width", "ticket", "dashboard", "complaints", "follow-ups",
    "qualification", "fault statistics", "ticket with the dispatch form", "a page the role may not see", "a partner's ticket"]) {
    assert.ok(audited.has(p), `${p} was not audited`);
  }
});
