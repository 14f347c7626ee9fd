import { useEffect, useState } from "preact/hooks";
import { api, type Staff, type Ticket, type TicketEvent } from "../api/client";
import { fmtTime, t } from "../i18n";
import { Countdown, ErrorBox, StateBadge, useNow } from "./common";
import { useNames } from "./names";
import { can, currentCaller } from "../access";

type Action = "accept" | "start" | "pause" | "resume" | "close";

/** The moves of a ticket in each state that the console offers (the API decides who may). */
const moves: Record<string, Action[]> = {
  ASSIGNED: ["accept"],
  ACCEPTED: ["start"],
  IN_PROGRESS: ["pause"],
  PAUSED: ["resume"],
  RESOLVED: ["close"],
};

/** States AssignTicket is allowed from. */
const assignable = new Set(["NEW", "ASSIGNED", "ACCEPTED", "IN_PROGRESS", "REOPENED"]);

export function TicketPage({ id }: { id: string }) {
  const name = `tickets/${id}`;
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [events, setEvents] = useState<TicketEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const now = useNow();
  const nameOf = useNames([ticket?.customer, ticket?.product, ticket?.partner]);

  async function reload() {
    try {
      const tk = await api.getTicket(name);
      const evs: TicketEvent[] = [];
      let pageToken: string | undefined;
      do {
        const page = await api.listTicketEvents(name, { pageSize: 200, pageToken });
        evs.push(...(page.events ?? []));
        pageToken = page.nextPageToken || undefined;
      } while (pageToken && evs.length < 1000);
      setTicket(tk);
      setEvents(evs);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }

  useEffect(() => {
    setTicket(null);
    reload();
  }, [id]);

  async function act(f: () => Promise<Ticket>) {
    setBusy(true);
    try {
      setTicket(await f());
      setError(null);
      await reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (!ticket)
    return (
      <section>
        <a href="#/queue">← {t("back")}</a>
        {error ? <ErrorBox error={error} /> : <p>{t("loading")}</p>}
      </section>
    );

  const requestId = () => crypto.randomUUID();
  // The moves the key's role may make (access.ts); a technician works
  // only the tickets assigned to them (the API's write scope).
  const me = currentCaller();
  const mine = me?.role !== "TECHNICIAN" || ticket.assignee === me.principal;
  const allowed = (m: Action) => mine && (m === "close" ? can("close") : can("work"));
  const offered = (moves[ticket.state ?? ""] ?? []).filter(allowed);
  const mayAssign = can("assign") && assignable.has(ticket.state ?? "");
  const mayResolve = mine && can("work") && ticket.state === "IN_PROGRESS";
  const etag = ticket.etag;
  const fields: [string, unknown][] = [
    [t("state"), <StateBadge state={ticket.state} />],
    [t("priority"), t(`priority.${ticket.priority}`)],
    [t("type"), ticket.type],
    [t("channel"), ticket.channel],
    [t("customer"), nameOf(ticket.customer)],
    [t("product"), nameOf(ticket.product)],
    [t("assignee"), nameOf(ticket.assignee)],
    [t("firstContact"), nameOf(ticket.firstContact)],
    [t("partner"), nameOf(ticket.partner)],
    [t("created"), fmtTime(ticket.createTime)],
    [t("responseDue"), fmtTime(ticket.sla?.responseDueTime)],
    [t("resolveDue"), <>{fmtTime(ticket.sla?.resolveDueTime)} · <Countdown ticket={ticket} now={now} /></>],
    [t("escalation"), ticket.escalationLevel ?? 0],
  ];

  return (
    <section aria-labelledby="ticket-title">
      <a href="#/queue">← {t("back")}</a>
      <h1 id="ticket-title">{ticket.title}</h1>
      <p class="muted small">{ticket.name}</p>
      <ErrorBox error={error} />
      <div class="ticket-grid">
        <dl class="fields">
          {fields.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v as string}</dd>
            </>
          ))}
          {ticket.resolution && (
            <>
              <dt>{t("resolution")}</dt>
              <dd>
                {ticket.resolution.faultCategory}/{ticket.resolution.faultCode}: {ticket.resolution.summary}
              </dd>
            </>
          )}
        </dl>
        <section class="actions" aria-labelledby="actions-title">
          <h2 id="actions-title">{t("actions")}</h2>
          {offered.length === 0 && !mayAssign && !mayResolve && <p class="muted small">{t("noActions")}</p>}
          {offered.map((m) => (
            <button type="button" disabled={busy} onClick={() => act(() => api[m](ticket, { etag, requestId: requestId() }))}>
              {t(m)}
            </button>
          ))}
          {mayAssign && (
            <AssignForm key={ticket.etag} busy={busy} current={ticket.assignee} onAssign={(assignee, note) =>
              act(() => api.assign(ticket, { etag, requestId: requestId(), assignee, note }))} />
          )}
          {mayResolve && (
            <ResolveForm busy={busy} onResolve={(faultCategory, faultCode, summary) =>
              act(() => api.resolve(ticket, { etag, requestId: requestId(), resolution: { faultCategory, faultCode, summary } }))} />
          )}
        </section>
      </div>
      <h2>{t("timeline")}</h2>
      <ol class="timeline">
        {events.map((e) => (
          <li key={e.name}>
            <time dateTime={e.createTime}>{fmtTime(e.createTime)}</time> <strong>{e.type}</strong>
            {e.fromState && e.toState && (
              <span class="muted">
                {" "}
                {t(`state.${e.fromState}`)} → {t(`state.${e.toState}`)}
              </span>
            )}{" "}
            <span class="muted small">{nameOf(e.actor)}</span>
            {e.message && <div>{e.message}</div>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function ResolveForm(props: { busy: boolean; onResolve: (cat: string, code: string, summary: string) => void }) {
  const [cat, setCat] = useState("");
  const [code, setCode] = useState("");
  const [summary, setSummary] = useState("");
  return (
    <form
      class="resolve"
      onSubmit={(e) => {
        e.preventDefault();
        props.onResolve(cat, code, summary);
      }}
    >
      <h3>{t("resolve")}</h3>
      <label>
        {t("faultCategory")}
        <input name="faultCategory" required value={cat} onInput={(e) => setCat((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t("faultCode")}
        <input name="faultCode" required value={code} onInput={(e) => setCode((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t("summary")}
        <textarea name="summary" required value={summary} onInput={(e) => setSummary((e.target as HTMLTextAreaElement).value)} />
      </label>
      <button type="submit" disabled={props.busy}>
        {t("resolve")}
      </button>
    </form>
  );
}

/**
 * Dispatch: the qualified staff the key may list (only they may be
 * assigned work). Keys that may not list staff (technicians, shops) see
 * no form.
 */
function AssignForm(props: { busy: boolean; current?: string; onAssign: (assignee: string, note: string) => void }) {
  const [staff, setStaff] = useState<Staff[] | null>(null);
  const [who, setWho] = useState("");
  const [note, setNote] = useState("");
  useEffect(() => {
    api.listStaff({ filter: "qualification_state = QUALIFIED AND active = true", pageSize: 1000 }).then(
      (r) => setStaff((r.staff ?? []).filter((s) => s.role === "TECHNICIAN" || s.role === "AGENT" || s.role === "MANAGER")),
      () => setStaff(null),
    );
  }, []);
  if (!staff || staff.length === 0) return null;
  return (
    <form
      class="resolve"
      onSubmit={(e) => {
        e.preventDefault();
        if (who) props.onAssign(who, note);
      }}
    >
      <h3>{t("assign")}</h3>
      <label>
        {t("assignee")}
        <select name="assignee" required value={who} onChange={(e) => setWho((e.target as HTMLSelectElement).value)}>
          <option value="">—</option>
          {staff
            .filter((s) => s.name !== props.current)
            .map((s) => (
              <option value={s.name}>
                {s.displayName} · {t(`role.${s.role}`)}
              </option>
            ))}
        </select>
      </label>
      <label>
        {t("note")}
        <input name="note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" disabled={props.busy}>
        {t("assign")}
      </button>
    </form>
  );
}
