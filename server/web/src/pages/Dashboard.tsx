import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type CostMetrics, type MetricsRow, type Money, type ServiceMetrics } from "../api/client";
import { fmtDay, fmtDuration, fmtTime, getLang, t } from "../i18n";
import { go } from "../router";
import { Breakdown } from "./Breakdown";
import { Chart } from "./Chart";
import { ErrorBox } from "./common";

const DAY = 86400_000;
/** The currency the cost figures are read in. */
const CURRENCY = "CNY";

function money(m?: Money): string {
  if (!m) return "—";
  const v = Number(m.units ?? 0) + (m.nanos ?? 0) / 1e9;
  return new Intl.NumberFormat(getLang(), { style: "currency", currency: m.currencyCode || CURRENCY }).format(v);
}

/** The UTC midnight that starts today. The API's windows are whole UTC days. */
function todayUTC(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const num = (s?: string) => Number(s ?? 0);
const secs = (d?: string) => (d ? parseFloat(d) : 0);
const pct = (r?: { value?: number; denominator?: string }) => (r && num(r.denominator) > 0 ? r.value ?? 0 : null);

export function Dashboard() {
  const [days, setDays] = useState(14);
  const [total, setTotal] = useState<ServiceMetrics | null>(null);
  const [daily, setDaily] = useState<MetricsRow[]>([]);
  const [cost, setCost] = useState<CostMetrics | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);

  const end = todayUTC() + DAY;
  const start = end - days * DAY;
  const dayStarts = useMemo(() => Array.from({ length: days }, (_, i) => start + i * DAY), [start, days]);

  useEffect(() => {
    let live = true;
    setLoading(true);
    // Warranty cost, in the company's currency; roles that may not read it
    // see a dash.
    api.costMetrics({ startTime: iso(start), endTime: iso(end), currencyCode: CURRENCY }).then(
      (c) => live && setCost(c),
      () => live && setCost(null),
    );
    // One call for the window's figures, one grouped by day for the trend:
    // both read the daily rollups, so the cost follows the days, not the
    // tickets. A day without events has no row.
    Promise.all([
      api.serviceMetrics({ startTime: iso(start), endTime: iso(end), groupBy: "NONE" }),
      api.serviceMetrics({ startTime: iso(start), endTime: iso(end), groupBy: "DAY" }),
    ])
      .then(([all, byDay]) => {
        if (!live) return;
        const rows = new Map((byDay.rows ?? []).map((r) => [r.group, r]));
        setTotal(all);
        setDaily(dayStarts.map((d) => rows.get(iso(d).slice(0, 10)) ?? {}));
        setError(null);
      })
      .catch((e) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [start, end]);

  const row = total?.rows?.[0] ?? {};
  const figures: [string, string, string][] = [
    ["ticketsOpened", t("ticketsOpened"), String(num(row.ticketsOpened))],
    ["ticketsResolved", t("ticketsResolved"), String(num(row.ticketsResolved))],
    ["csat", t("csat"), pct(row.csatMean) === null ? "—" : pct(row.csatMean)!.toFixed(2)],
    ["fcr", t("fcr"), fmtPct(pct(row.firstContactResolutionPercent))],
    ["sla", t("sla"), fmtPct(pct(row.slaCompliancePercent))],
    ["complaintsOnTime", t("complaintsOnTime"), fmtPct(pct(row.complaintResolvedOnTimePercent))],
    ["cost", t("warrantyCost"), money(cost?.total?.cost)],
    ["costPerTicket", t("costPerTicket"), money(cost?.total?.costPerTicket)],
    ["responseTime", t("responseTime"), num(row.timeToFirstResponse?.count) ? fmtDuration(secs(row.timeToFirstResponse?.mean)) : "—"],
    ["resolutionTime", t("resolutionTime"), num(row.timeToResolution?.count) ? fmtDuration(secs(row.timeToResolution?.mean)) : "—"],
  ];

  const chart = useMemo(
    () => ({
      name: t("day"),
      categories: dayStarts.map((d) => fmtDay(new Date(d))),
      series: [
        { name: t("ticketsOpened"), kind: "bar" as const, values: daily.map((r) => num(r.ticketsOpened)) },
        { name: t("ticketsResolved"), kind: "bar" as const, values: daily.map((r) => num(r.ticketsResolved)) },
        { name: t("sla"), kind: "line" as const, values: daily.map((r) => pct(r.slaCompliancePercent)) },
        { name: t("fcr"), kind: "line" as const, values: daily.map((r) => pct(r.firstContactResolutionPercent)) },
      ],
    }),
    [daily],
  );

  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">{t("dashboard")}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("window")}
          <select name="days" value={days} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
            {[7, 14, 30].map((d) => (
              <option value={d}>
                {d} {t("days")}
              </option>
            ))}
          </select>
        </label>
        {total?.dataTime && (
          <span class="muted small">
            {t("dataTime")} {fmtTime(total.dataTime)}
          </span>
        )}
      </form>
      <ErrorBox error={error} />
      {loading && !total && <p>{t("loading")}</p>}
      <div class="figures" data-state={loading ? "loading" : "ready"} aria-busy={loading}>
        {figures.map(([id, label, value]) => (
          <div class="figure" data-figure={id}>
            <div class="value">{value}</div>
            <div class="label">{label}</div>
          </div>
        ))}
      </div>
      <h2>{t("trend")}</h2>
      <p class="muted small">{t("drillDown")}</p>
      <Chart
        data={chart}
        label={t("trend")}
        onClick={(i) => go(dayLink(dayStarts[i]))}
      />
      <details class="daily">
        <summary>{t("dailyTable")}</summary>
        <table class="tickets">
          <thead>
            <tr>
              <th scope="col">{t("day")}</th>
              <th scope="col">{t("ticketsOpened")}</th>
              <th scope="col">{t("ticketsResolved")}</th>
              <th scope="col">{t("sla")}</th>
              <th scope="col">{t("fcr")}</th>
            </tr>
          </thead>
          <tbody>
            {daily.map((r, i) => (
              <tr>
                <td>
                  <a href={dayLink(dayStarts[i])}>{fmtDay(new Date(dayStarts[i]))}</a>
                </td>
                <td>{num(r.ticketsOpened)}</td>
                <td>{num(r.ticketsResolved)}</td>
                <td>{fmtPct(pct(r.slaCompliancePercent))}</td>
                <td>{fmtPct(pct(r.firstContactResolutionPercent))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      {/* Below the fold: asked for once the figures above are in. */}
      {total && <Breakdown startTime={iso(start)} endTime={iso(end)} />}
    </section>
  );
}

/** The queue of every ticket opened on the UTC day that starts at ms. */
const dayLink = (ms: number) => `#/queue?state=&from=${iso(ms)}&to=${iso(ms + DAY)}`;

function fmtPct(v: number | null): string {
  return v === null ? "—" : `${v.toFixed(1)}%`;
}
