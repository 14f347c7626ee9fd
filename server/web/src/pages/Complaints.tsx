import { useMemo } from "preact/hooks";
import { api, type Complaint } from "../api/client";
import { fmtDuration, fmtTime, t } from "../i18n";
import { go } from "../router";
import { ErrorBox, idOf, useNow } from "./common";
import { usePaged } from "./list";
import { useNames } from "./names";

const severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

/** The deadline a complaint is working to: acknowledgement first, then resolution. */
function deadline(c: Complaint): { kind: "ack" | "resolve"; due?: string; overdue?: boolean } {
  return c.state === "RECEIVED"
    ? { kind: "ack", due: c.acknowledgeDue, overdue: c.acknowledgeOverdue }
    : { kind: "resolve", due: c.resolveDue, overdue: c.resolveOverdue };
}
const dueMs = (c: Complaint) => (deadline(c).due ? Date.parse(deadline(c).due!) : Infinity);

/** Open complaints by deadline, with their escalation level and who answers for them. */
export function Complaints({ query }: { query: URLSearchParams }) {
  const severity = query.get("severity") ?? "";
  const filter = ["state != RESOLVED", "state != CLOSED", ...(severity ? [`severity = ${severity}`] : [])].join(" AND ");
  const { items, error, more } = usePaged<Complaint>(filter, async (pageToken) => {
    const r = await api.listComplaints({ filter, pageSize: 50, pageToken });
    return { items: r.complaints ?? [], next: r.nextPageToken };
  });
  const sorted = useMemo(() => [...items].sort((a, b) => dueMs(a) - dueMs(b)), [items]);
  const now = useNow();
  const nameOf = useNames(items.map((c) => c.customer));

  return (
    <section aria-labelledby="complaints-title">
      <h1 id="complaints-title">{t("complaints")}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("severity")}
          <select name="severity" value={severity}
            onChange={(e) => go(`#/complaints?severity=${(e.target as HTMLSelectElement).value}`)}>
            <option value="">{t("all")}</option>
            {severities.map((s) => (
              <option value={s}>{t(`severity.${s}`)}</option>
            ))}
          </select>
        </label>
        <code class="filter" title="filter">{filter}</code>
      </form>
      <ErrorBox error={error} />
      <table class="tickets">
        <thead>
          <tr>
            <th scope="col">{t("deadline")}</th>
            <th scope="col">{t("title")}</th>
            <th scope="col">{t("severity")}</th>
            <th scope="col">{t("escalation")}</th>
            <th scope="col" class="wide">{t("handler")}</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((c) => {
            const d = deadline(c);
            const left = d.due ? (Date.parse(d.due) - now) / 1000 : null;
            const cls = d.overdue || (left !== null && left < 0) ? "late" : left !== null && left < 4 * 3600 ? "soon" : "ok";
            return (
              <tr key={c.name} data-complaint={c.name}>
                <td>
                  <span class="muted small">{t(d.kind === "ack" ? "ackDue" : "resolveDue")}</span>
                  <br />
                  {left === null ? "—" : (
                    <span class={`countdown ${cls}`} title={fmtTime(d.due)}>
                      {left < 0 ? `${t("overdue")} ${fmtDuration(left)}` : fmtDuration(left)}
                    </span>
                  )}
                </td>
                <td>
                  {c.title || idOf(c.name)}
                  <div class="muted small">{nameOf(c.customer)} · {t(`cstate.${c.state}`)} · {c.category}</div>
                </td>
                <td>{t(`severity.${c.severity}`)}</td>
                <td>{(c.escalationLevel ?? 0) > 0 ? <span class="badge late">↑{c.escalationLevel}</span> : "0"}
                  {c.escalatedTo && <div class="muted small">{nameOf(c.escalatedTo)}</div>}</td>
                <td class="wide">{nameOf(c.handler)}
                  {c.responsibleStaff && <div class="muted small">{t("responsible")}: {nameOf(c.responsibleStaff)}</div>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {more}
    </section>
  );
}
