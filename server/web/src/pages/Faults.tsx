import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type FaultStatistics } from "../api/client";
import { t } from "../i18n";
import { Chart } from "./Chart";
import { ErrorBox } from "./common";

const DAY = 86400_000;

function window(days: number) {
  const d = new Date();
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + DAY;
  const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
  return { startTime: iso(end - days * DAY), endTime: iso(end) };
}

/** Faults by product model × fault code as a Pareto chart, exportable as CSV. */
export function Faults() {
  const [days, setDays] = useState(90);
  const [stats, setStats] = useState<FaultStatistics | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.faultStatistics({ ...window(days), top: 20 }).then(setStats, setError);
  }, [days]);

  const rows = useMemo(
    () => [...(stats?.rows ?? [])].sort((a, b) => Number(b.count ?? 0) - Number(a.count ?? 0)).slice(0, 20),
    [stats],
  );
  const total = rows.reduce((s, r) => s + Number(r.count ?? 0), 0);
  const chart = useMemo(() => {
    let run = 0;
    return {
      name: t("faultCode"),
      categories: rows.map((r) => `${r.productModel} ${r.faultCode}`),
      rotate: -30,
      series: [
        { name: t("count"), kind: "bar" as const, values: rows.map((r) => Number(r.count ?? 0)) },
        {
          name: t("cumulative"), kind: "line" as const,
          values: rows.map((r) => ((run += Number(r.count ?? 0)), total ? Math.round((run * 1000) / total) / 10 : 0)),
        },
      ],
    };
  }, [rows]);

  async function exportCsv() {
    try {
      const csv = await api.faultStatisticsCSV(window(days));
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      a.download = `fault-statistics-${days}d.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section aria-labelledby="faults-title">
      <h1 id="faults-title">{t("faults")}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("window")}
          <select name="days" value={days} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
            {[30, 90, 365].map((d) => (
              <option value={d}>
                {d} {t("days")}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={exportCsv}>
          {t("exportCsv")}
        </button>
      </form>
      <ErrorBox error={error} />
      <Chart data={chart} label={t("faults")} />
      <table class="tickets">
        <thead>
          <tr>
            <th scope="col">{t("model")}</th>
            <th scope="col">{t("faultCategory")}</th>
            <th scope="col">{t("faultCode")}</th>
            <th scope="col">{t("count")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <td>{r.productModel}</td>
              <td>{r.faultCategory}</td>
              <td>{r.faultCode}</td>
              <td>{r.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
