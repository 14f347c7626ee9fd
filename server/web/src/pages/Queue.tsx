import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, type Ticket } from "../api/client";
import { fmtTime, t } from "../i18n";
import { go } from "../router";
import { Countdown, ErrorBox, StateBadge, idOf, useNow } from "./common";

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

const dueOf = (x: Ticket) => (x.sla?.resolveDueTime ? Date.parse(x.sla.resolveDueTime) : Infinity);

export function Queue({ query }: { query: URLSearchParams }) {
  const state = query.get("state") ?? "open";
  const priority = query.get("priority") ?? "";
  const from = query.get("from") ?? undefined;
  const to = query.get("to") ?? undefined;
  const filter = queueFilter(state, priority, from, to);

  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [token, setToken] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);
  const now = useNow();

  async function load(pageToken: string | undefined, g: number) {
    setLoading(true);
    try {
      const res = await api.listTickets({ filter, orderBy: "create_time", pageSize: 50, pageToken });
      if (g !== gen.current) return;
      setTickets((old) => (pageToken ? [...old, ...(res.tickets ?? [])] : res.tickets ?? []));
      setToken(res.nextPageToken || undefined);
      setError(null);
    } catch (e) {
      if (g === gen.current) setError(e);
    } finally {
      if (g === gen.current) setLoading(false);
    }
  }

  useEffect(() => {
    const g = ++gen.current;
    setTickets([]);
    setToken(undefined);
    load(undefined, g);
  }, [filter]);

  // Infinite scroll: the next page when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !token) return;
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting) && !loading) load(token, gen.current);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [token, loading]);

  // The API lists by creation time; the queue shows what it has loaded by
  // the SLA's resolve due time, the most urgent first.
  const sorted = useMemo(() => [...tickets].sort((a, b) => dueOf(a) - dueOf(b)), [tickets]);

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
      <p class="muted small">{t("sortedNote")}</p>
      <ErrorBox error={error} />
      <table class="tickets">
        <thead>
          <tr>
            <th scope="col">{t("resolveDue")}</th>
            <th scope="col">{t("title")}</th>
            <th scope="col">{t("state")}</th>
            <th scope="col">{t("priority")}</th>
            <th scope="col" class="wide">{t("created")}</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((x) => (
            <tr key={x.name} data-ticket={x.name}>
              <td>
                <Countdown ticket={x} now={now} />
              </td>
              <td>
                <a href={`#/tickets/${idOf(x.name)}`}>{x.title || idOf(x.name)}</a>
                {(x.escalationLevel ?? 0) > 0 && <span class="badge late"> ↑{x.escalationLevel}</span>}
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
      {!loading && !error && tickets.length === 0 && <p class="muted">{t("none")}</p>}
      <div ref={sentinel} class="sentinel">
        {loading ? (
          t("loading")
        ) : token ? (
          <button type="button" onClick={() => load(token, gen.current)}>
            {t("loadMore")}
          </button>
        ) : tickets.length > 0 ? (
          <span class="muted">{t("end")}</span>
        ) : null}
      </div>
    </section>
  );
}
