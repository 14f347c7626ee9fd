import { api, type Ticket } from "../api/client";
import { fmtTime, t } from "../i18n";
import { go } from "../router";
import { Countdown, ErrorBox, StateBadge, idOf, useNow } from "./common";
import { usePaged } from "./list";
import { useNames } from "./names";

const states = ["NEW", "ASSIGNED", "ACCEPTED", "IN_PROGRESS", "PAUSED", "REOPENED", "RESOLVED", "CLOSED", "CANCELLED"];
const priorities = ["URGENT", "HIGH", "NORMAL", "LOW"];

/**
 * The filter in the API's syntax (AIP-160: comparisons joined by AND) for
 * the queue's choices. "open" is every state before RESOLVED.
 */
export function queueFilter(state: string, priority: string, from?: string, to?: string): string {
  const parts: string[] = [];
  if (state === "open") parts.push("state != RESOLVED", "state != CLOSED", "state != CANCELLED");
  else if (state) parts.push(`state = ${state}`);
  if (priority) parts.push(`priority = ${priority}`);
  if (from) parts.push(`create_time >= ${from}`);
  if (to) parts.push(`create_time < ${to}`);
  return parts.join(" AND ");
}

const finished = new Set(["RESOLVED", "CLOSED", "CANCELLED"]);

/**
 * The queue's order, across all pages (the API sorts): open work by the
 * SLA's resolve due time, the most urgent first. Finished tickets and "all
 * states" come newest first: a finished ticket's due time means nothing,
 * and every ticket in due order would put the oldest first (and no index
 * holds that order, so the database would sort the whole table).
 */
export function queueOrder(state: string): string {
  return state === "" || finished.has(state) ? "create_time desc" : "sla.resolve_due_time";
}

export function Queue({ query }: { query: URLSearchParams }) {
  const state = query.get("state") ?? "open";
  const priority = query.get("priority") ?? "";
  const from = query.get("from") ?? undefined;
  const to = query.get("to") ?? undefined;
  const filter = queueFilter(state, priority, from, to);
  const orderBy = queueOrder(state);

  const { items: tickets, error, more } = usePaged<Ticket>(`${filter}|${orderBy}`, async (pageToken) => {
    const r = await api.listTickets({ filter, orderBy, pageSize: 50, pageToken });
    return { items: r.tickets ?? [], next: r.nextPageToken };
  });
  const now = useNow();
  // Customers and products by name: each distinct one read once (names.ts).
  const nameOf = useNames(tickets.flatMap((x) => [x.customer, x.product]));

  function setParam(k: string, v: string) {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    if (k === "state" && v === "") q.set("state", "");
    go(`#/queue?${q}`);
  }

  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">{t("queue")}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("state")}
          <select name="state" value={state} onChange={(e) => setParam("state", (e.target as HTMLSelectElement).value)}>
            <option value="open">{t("open")}</option>
            <option value="">{t("all")}</option>
            {states.map((s) => (
              <option value={s}>{t(`state.${s}`)}</option>
            ))}
          </select>
        </label>
        <label>
          {t("priority")}
          <select name="priority" value={priority} onChange={(e) => setParam("priority", (e.target as HTMLSelectElement).value)}>
            <option value="">{t("all")}</option>
            {priorities.map((p) => (
              <option value={p}>{t(`priority.${p}`)}</option>
            ))}
          </select>
        </label>
        <code class="filter" title="filter">{filter || "—"}</code>
      </form>
      <p class="muted small">{t(orderBy === "create_time desc" ? "newestNote" : "sortedNote")}</p>
      <ErrorBox error={error} />
      <table class="tickets">
        <thead>
          <tr>
            <th scope="col">{t("resolveDue")}</th>
            <th scope="col">{t("title")}</th>
            <th scope="col">{t("customer")}</th>
            <th scope="col">{t("state")}</th>
            <th scope="col">{t("priority")}</th>
            <th scope="col" class="wide">{t("created")}</th>
          </tr>
        </thead>
        <tbody>
          {tickets.map((x) => (
            <tr key={x.name} data-ticket={x.name} data-due={x.sla?.resolveDueTime}>
              <td>
                <Countdown ticket={x} now={now} />
              </td>
              <td>
                <a href={`#/tickets/${idOf(x.name)}`}>{x.title || idOf(x.name)}</a>
                {(x.escalationLevel ?? 0) > 0 && <span class="badge late"> ↑{x.escalationLevel}</span>}
              </td>
              <td class="customer">
                {nameOf(x.customer)}
                {x.product && <div class="muted small">{nameOf(x.product)}</div>}
              </td>
              <td>
                <StateBadge state={x.state} />
              </td>
              <td>{t(`priority.${x.priority}`)}</td>
              <td class="wide">{fmtTime(x.createTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more}
    </section>
  );
}
