import { useEffect, useState } from "preact/hooks";
import { ApiError, type Ticket } from "../api/client";
import { fmtDuration, fmtTime, t } from "../i18n";

/** The current time, updated every interval ms (for countdowns). */
export function useNow(interval = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), interval);
    return () => clearInterval(id);
  }, [interval]);
  return now;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof ApiError && error.status === 403 ? t("noAccess") : error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" class="error">
      {t("error")}: {msg}
    </p>
  );
}

const open = new Set(["NEW", "ASSIGNED", "ACCEPTED", "IN_PROGRESS", "PAUSED", "REOPENED"]);

/**
 * Time left until due, or how long overdue: red when past due or flagged
 * late by the API, amber within four hours. The due time is its tooltip.
 */
export function DueIn({ due, now, late }: { due?: string; now: number; late?: boolean }) {
  if (!due) return <span class="muted">—</span>;
  const left = (Date.parse(due) - now) / 1000;
  const cls = left < 0 || late ? "late" : left < 4 * 3600 ? "soon" : "ok";
  return (
    <span class={`countdown ${cls}`} title={fmtTime(due)} data-seconds={Math.round(left)}>
      {left < 0 ? `${t("overdue")} ${fmtDuration(left)}` : fmtDuration(left)}
    </span>
  );
}

/** The SLA countdown of a ticket: time left to its resolve due time, or how late it is. */
export function Countdown({ ticket, now }: { ticket: Ticket; now: number }) {
  const due = ticket.sla?.resolveDueTime;
  if (due && !open.has(ticket.state ?? "")) return <span class="muted">{ticket.sla?.resolveBreached ? t("breached") : "✓"}</span>;
  return <DueIn due={due} now={now} late={ticket.sla?.resolveBreached} />;
}

export function StateBadge({ state }: { state?: string }) {
  return <span class={`badge state-${state}`}>{t(`state.${state}`)}</span>;
}

/** "tickets/abc" → "abc". */
export const idOf = (name?: string) => (name ?? "").split("/").pop() ?? "";
