import { api, type FollowUp } from "../api/client";
import { t } from "../i18n";
import { go } from "../router";
import { DueIn, ErrorBox, idOf, useNow } from "./common";
import { usePaged } from "./list";
import { useNames } from "./names";

/** Scheduled follow-ups (回访) by due time: those due within the chosen days, overdue ones first. */
export function FollowUps({ query }: { query: URLSearchParams }) {
  const days = Number(query.get("days") ?? "7");
  const d = new Date();
  // Due before the end of the viewer's day `days - 1` days from today.
  const until = new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).toISOString();
  const filter = `state = SCHEDULED AND due_time < ${until}`;
  const { items, error, more } = usePaged<FollowUp>(filter, async (pageToken) => {
    const r = await api.listFollowUps({ filter, orderBy: "due_time", pageSize: 50, pageToken });
    return { items: r.followUps ?? [], next: r.nextPageToken };
  });
  const now = useNow();
  // The customer to call, by name (each distinct one read once).
  const nameOf = useNames(items.map((f) => f.customer));

  return (
    <section aria-labelledby="followups-title">
      <h1 id="followups-title">{t("followUps")}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("dueWithin")}
          <select name="days" value={String(days)} onChange={(e) => go(`#/followups?days=${(e.target as HTMLSelectElement).value}`)}>
            {[1, 3, 7, 30].map((n) => (
              <option value={n}>
                {n} {t("days")}
              </option>
            ))}
          </select>
        </label>
        <code class="filter" title="filter">{filter}</code>
      </form>
      <ErrorBox error={error} />
      <table class="tickets">
        <thead>
          <tr>
            <th scope="col">{t("due")}</th>
            <th scope="col">{t("customer")}</th>
            <th scope="col">{t("ticket")}</th>
            <th scope="col">{t("assignee")}</th>
            <th scope="col" class="wide">{t("method")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((f) => (
            <tr key={f.name} data-followup={f.name}>
              <td>
                <DueIn due={f.dueTime} now={now} late={f.overdue} />
              </td>
              <td class="customer">{nameOf(f.customer)}</td>
              <td>{f.ticket ? <a href={`#/tickets/${idOf(f.ticket)}`}>{idOf(f.ticket)}</a> : "—"}</td>
              <td>{nameOf(f.assignee)}</td>
              <td class="wide">{f.method ?? "—"} · {f.origin}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more}
    </section>
  );
}
