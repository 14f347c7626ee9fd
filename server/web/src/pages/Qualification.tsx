import { useEffect, useState } from "preact/hooks";
import { api, type Staff } from "../api/client";
import { fmtTime, t } from "../i18n";
import { ErrorBox } from "./common";

const columns = ["QUALIFIED", "TRAINEE", "SUSPENDED"] as const;

/**
 * Who may be on duty: active staff by qualification state. Only QUALIFIED
 * staff may be assigned work; a SUSPENDED member is in retraining, shown
 * with the due time of their open retraining enrolment.
 */
export function Qualification() {
  const [staff, setStaff] = useState<Staff[] | null>(null);
  const [retrainingDue, setRetrainingDue] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    (async () => {
      const all: Staff[] = [];
      let pageToken: string | undefined;
      do {
        const r = await api.listStaff({ filter: "active = true", pageSize: 500, pageToken });
        all.push(...(r.staff ?? []));
        pageToken = r.nextPageToken || undefined;
      } while (pageToken && all.length < 5000);
      if (!live) return;
      setStaff(all);
      // Open retraining enrolments of everyone in the caller's scope, in
      // one list ("staff/-"); an enrolment's name starts with its staff.
      const due: Record<string, string> = {};
      if (all.some((s) => s.qualificationState === "SUSPENDED")) {
        pageToken = undefined;
        do {
          const r = await api.listEnrollments("staff/-", { filter: "reason = RETRAINING AND state = ENROLLED", pageSize: 500, pageToken });
          for (const e of r.enrollments ?? []) {
            const who = (e.name ?? "").split("/").slice(0, 2).join("/");
            if (e.dueTime && (!due[who] || e.dueTime < due[who])) due[who] = e.dueTime;
          }
          pageToken = r.nextPageToken || undefined;
        } while (pageToken);
      }
      if (live) setRetrainingDue(due);
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, []);

  return (
    <section aria-labelledby="qual-title">
      <h1 id="qual-title">{t("qualification")}</h1>
      <ErrorBox error={error} />
      {!staff && !error && <p>{t("loading")}</p>}
      {staff && (
        <div class="board">
          {columns.map((c) => {
            const members = staff.filter((s) => s.qualificationState === c);
            return (
              <section class={`column q-${c}`} aria-labelledby={`col-${c}`} data-column={c}>
                <h2 id={`col-${c}`}>
                  {t(`qstate.${c}`)} <span class="muted">({members.length})</span>
                </h2>
                <ul>
                  {members.map((s) => (
                    <li>
                      <strong>{s.displayName}</strong> <span class="muted small">{t(`role.${s.role}`)}{s.team ? ` · ${s.team}` : ""}</span>
                      {c === "SUSPENDED" && retrainingDue[s.name!] && (
                        <div class="small">
                          {t("retrainingUntil")} {fmtTime(retrainingDue[s.name!])}
                        </div>
                      )}
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
    </section>
  );
}
