// Starts a real aftersales server on a scratch SQLite data directory and
// seeds it through the JSON API, for the browser tests.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

/** Builds the server (unless AFTERSALES_BIN names a binary) and starts it; resolves once /healthz answers. */
export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "aftersales-web-"));
  let bin = process.env.AFTERSALES_BIN;
  if (!bin) {
    bin = join(dir, "aftersales");
    execFileSync("go", ["build", "-o", bin, "./server"], { cwd: repo, stdio: "inherit", env: { ...process.env, GOWORK: "off" } });
  }
  const [http, grpc] = [await freePort(), await freePort()];
  const proc = spawn(bin, [], {
    cwd: dir,
    env: {
      ...process.env,
      AFTERSALES_DATA_DIR: join(dir, "data"),
      AFTERSALES_HTTP_ADDR: `127.0.0.1:${http}`,
      AFTERSALES_GRPC_ADDR: `127.0.0.1:${grpc}`,
      AFTERSALES_REPORT_ROLLUP_INTERVAL: "1s",
      // Count a change 2 s after it was made, not a minute: the dashboard
      // test waits for a resolution to show. Transactions here are short.
      AFTERSALES_REPORT_ROLLUP_SETTLE: "2s",
      AFTERSALES_LOG_FORMAT: "json",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const keyP = new Promise((ok, fail) => {
    proc.stderr.on("data", (b) => {
      stderr += b;
      const m = stderr.match(/^\s+(ask_[A-Za-z0-9_-]+)\s*$/m);
      if (m) ok(m[1]);
    });
    proc.on("exit", (code) => fail(new Error(`server exited with ${code}:\n${stderr.slice(-4000)}`)));
    setTimeout(() => fail(new Error(`no bootstrap key within 60s:\n${stderr.slice(-4000)}`)), 60_000);
  });
  const adminKey = await keyP;
  const base = `http://127.0.0.1:${http}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 100) throw new Error("server not healthy");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    adminKey,
    logs: () => stderr,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls the JSON API as key; throws on an error answer (after waiting out rate limits). */
export async function call(base, key, method, path, body) {
  let res;
  for (let i = 0; ; i++) {
    res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 429 || i === 5) break;
    await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") ?? 1)));
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/**
 * Seeds staff with keys (manager, agent, two technicians), a customer with
 * a product, and tickets: two assigned to the first technician, one to the
 * second, one still NEW.
 */
export async function seed(base, adminKey) {
  const admin = (m, p, b) => call(base, adminKey, m, p, b);
  const staff = async (displayName, role, team) => {
    const s = await admin("POST", "/v1/staff", { displayName, role, team });
    const k = await admin("POST", "/v1/apiKeys", { staff: s.name, displayName: `${displayName} console` });
    return { name: s.name, key: k.secret };
  };
  const manager = await staff("Zhao Min", "MANAGER", "service-desk");
  const agent = await staff("Li Na", "AGENT", "call-center");
  const tech = await staff("Wang Wei", "TECHNICIAN", "field");
  const tech2 = await staff("Chen Jie", "TECHNICIAN", "field");

  const asAgent = (m, p, b) => call(base, agent.key, m, p, b);
  const customer = await asAgent("POST", "/v1/customers", { displayName: "Zhang San", phone: "+8613800138000" });
  const product = await asAgent("POST", `/v1/${customer.name}/products`, {
    model: "WM-8000", serialNumber: "WM8-2024-000123", warrantyEndTime: "2030-01-01T00:00:00Z",
  });
  const ticket = async (title, priority, assignee) => {
    let t = await asAgent("POST", "/v1/tickets", {
      customer: customer.name, product: product.name, type: "REPAIR", channel: "PHONE", priority, title,
    });
    if (assignee) t = await asAgent("POST", `/v1/${t.name}:assign`, { assignee });
    return t;
  };
  const tickets = {
    drum: await ticket("Drum does not spin", "URGENT", tech.name),
    leak: await ticket("Door seal leaks", "NORMAL", tech.name),
    other: await ticket("Noisy pump", "HIGH", tech2.name),
    unassigned: await ticket("Install a dryer", "LOW"),
  };
  const complaint = (title, severity, ticket) =>
    asAgent("POST", "/v1/complaints", { customer: customer.name, ticket: ticket.name, category: "SERVICE_ATTITUDE", severity, title, channel: "PHONE" });
  const complaints = {
    late: await complaint("The technician came late", "HIGH", tickets.leak),
    smoke: await complaint("Smoke from the dryer", "CRITICAL", tickets.unassigned),
  };
  return { manager, agent, tech, tech2, customer, product, tickets, complaints };
}
