import { useEffect, useState } from "preact/hooks";
import { api, type MetricsRow } from "../api/client";
import { t } from "../i18n";
import { ErrorBox } from "./common";
import { useNames } from "./names";

const dimensions = ["STAFF", "TEAM", "PARTNER", "PRODUCT_MODEL", "CHANNEL", "TICKET_TYPE"] as const;
type Dimension = (typeof dimensions)[number];

const num = (s?: string) => Number(s ?? 0);
const ratio = (r?: { value?: number; denominator?: string }, digits = 1, suffix = "%") =>
  r && num(r.denominator) > 0 ? `${(r.value ?? 0).toFixed(digits)}${suffix}` : "—";

/** The window's figures grouped by a dimension (one GetServiceMetrics call): staff scorecards at a glance. */
export function Breakdown(props: { startTime: string; endTime: string }) {
  const [dim, setDim] = useState<Dimension>("STAFF");
  const [rows, setRows] = useState<MetricsRow[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Partner shops by display name too (staff come from one ListStaff).
  const nameOf = useNames((rows ?? []).map((r) => r.group));

  useEffect(() => {
    let live = true;
    api.serviceMetrics({ startTime: props.startTime, endTime: props.endTime, groupBy: dim }).then(
      (m) => live && (setRows(m.rows ?? []), setError(null)),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [dim, props.startTime, props.endTime]);

  return (
    <section aria-labelledby="breakdown-title">
      <h2 id="breakdown-title">{t("breakdown")}</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("groupBy")}
          <select name="groupBy" value={dim} onChange={(e) => setDim((e.target as HTMLSelectElement).value as Dimension)}>
            {dimensions.map((d) => (
              <option value={d}>{t(`dim.${d}`)}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} />
      <table class="tickets breakdown">
        <thead>
          <tr>
            <th scope="col">{t(`dim.${dim}`)}</th>
            <th scope="col">{t("ticketsOpened")}</th>
            <th scope="col">{t("ticketsResolved")}</th>
            <th scope="col">{t("sla")}</th>
            <th scope="col">{t("fcr")}</th>
            <th scope="col">{t("csat")}</th>
            <th scope="col" class="wide">{t("complaintsPer100")}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((r) => (
            <tr data-group={r.group}>
              <th scope="row">{r.group ? nameOf(r.group) : "—"}</th>
              <td>{num(r.ticketsOpened)}</td>
              <td>{num(r.ticketsResolved)}</td>
              <td>{ratio(r.slaCompliancePercent)}</td>
              <td>{ratio(r.firstContactResolutionPercent)}</td>
              <td>{ratio(r.csatMean, 2, "")}</td>
              <td class="wide">{ratio(r.complaintsPer100Tickets, 1, "")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
