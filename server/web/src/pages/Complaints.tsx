import { api, type Complaint } from "../api/client";
import { t } from "../i18n";
import { go } from "../router";
import { DueIn, ErrorBox, idOf, useNow } from "./common";
import { usePaged } from "./list";
import { useNames } from "./names";

const severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

/**
 * The two complaint queues, each ordered by the deadline its complaints
 * work to, across all pages (the API sorts): those awaiting
 * acknowledgement by their acknowledgement deadline, the others still
 * open by their resolution deadline.
 */
const stages = {
  ack: { filter: "state = RECEIVED", orderBy: "acknowledge_due_time", due: (c: Complaint) => c.acknowledgeDue, late: (c: Complaint) => c.acknowledgeOverdue },
  resolve: {
    filter: "state != RECEIVED AND state != RESOLVED AND state != CLOSED",
    orderBy: "resolve_due_time",
    due: (c: Complaint) => c.resolveDue,
    late: (c: Complaint) => c.resolveOverdue,
  },
};
type Stage = keyof typeof stages;

/** Open complaints by deadline, with their escalation level and who answers for them. */
export function Complaints({ query }: { query: URLSearchParams }) {
  const stageName: Stage = query.get("stage") === "resolve" ? "resolve" : "ack";
  const stage = stages[stageName];
  const severity = query.get("severity") ?? "";
  const filter = [stage.filter, ...(severity ? [`severity = ${severity}`] : [])].join(" AND ");
  const { items, error, more } = usePaged<Complaint>(filter, async (pageToken) => {
    const r = await api.listComplaints({ filter, orderBy: stage.orderBy, pageSize: 50, pageToken });
    return { items: r.complaints ?? [], next: r.nextPageToken };
  });
  const now = useNow();
  const nameOf = useNames(items.map((c) => c.customer));

  function setParam(k: string, v: string) {
    const q = new URLSearchParams(query);
    q.set(k, v);
    go(`#/complaints?${q}`);
  }

  return (
    <section aria-labelledby="complaints-title">
      <h1 id="complaints-title">{t("complaints")}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("stage")}
          <select name="stage" value={stageName} onChange={(e) => setParam("stage", (e.target as HTMLSelectElement).value)}>
            {Object.keys(stages).map((s) => (
              <option value={s}>{t(`stage.${s}`)}</option>
            ))}
          </select>
        </label>
        <label>
          {t("severity")}
          <select name="severity" value={severity} onChange={(e) => setParam("severity", (e.target as HTMLSelectElement).value)}>
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
            <th scope="col">{t(stageName === "ack" ? "ackDue" : "resolveDue")}</th>
            <th scope="col">{t("title")}</th>
            <th scope="col">{t("severity")}</th>
            <th scope="col">{t("escalation")}</th>
            <th scope="col" class="wide">{t("handler")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr key={c.name} data-complaint={c.name}>
              <td>
                <DueIn due={stage.due(c)} now={now} late={stage.late(c)} />
              </td>
              <td>
                {c.title || idOf(c.name)}
                <div class="muted small">
                  {nameOf(c.customer)} · {t(`cstate.${c.state}`)} · {c.category}
                </div>
              </td>
              <td>{t(`severity.${c.severity}`)}</td>
              <td>
                {(c.escalationLevel ?? 0) > 0 ? <span class="badge late">↑{c.escalationLevel}</span> : "0"}
                {c.escalatedTo && <div class="muted small">{nameOf(c.escalatedTo)}</div>}
              </td>
              <td class="wide">
                {nameOf(c.handler)}
                {c.responsibleStaff && <div class="muted small">{t("responsible")}: {nameOf(c.responsibleStaff)}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {more}
    </section>
  );
}
