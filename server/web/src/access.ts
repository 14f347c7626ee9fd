// What the signed-in key's role may do, for showing only those pages and
// actions. It restates rows of the server's policy table
// (server/internal/auth/policy.go, API.md §5) for the calls the console
// makes; the API still checks every call, so a stale row here only shows
// or hides a control, it grants nothing.
import type { Caller, Role } from "./api/client";

export type Capability =
  | "complaints" // ListComplaints
  | "followups" // ListFollowUps
  | "qualification" // ListStaff and ListEnrollments
  | "dashboard" // GetServiceMetrics with the company's cost figures (GetCostMetrics)
  | "faults" // GetFaultStatistics
  | "assign" // AssignTicket
  | "work" // AcceptTicket, StartTicket, PauseTicket, ResumeTicket, ResolveTicket
  | "close"; // CloseTicket

const M: Role = "MANAGER", A: Role = "AGENT", T: Role = "TECHNICIAN", TR: Role = "TRAINER", P: Role = "PARTNER";

const rows: Record<Capability, Role[]> = {
  complaints: [M, A],
  followups: [M, A],
  qualification: [M, A, TR, P],
  // A shop may read its own service metrics, but the dashboard's cost
  // figures and its grouping by staff and partner are the company's.
  dashboard: [M],
  faults: [M, P],
  assign: [M, A, P],
  work: [M, A, T, P],
  close: [M, A],
};

let caller: Caller | null = null;

/** Set at sign-in (GetCaller) and cleared at sign-out. */
export function setCaller(c: Caller | null) {
  caller = c;
}

export function currentCaller(): Caller | null {
  return caller;
}

/** Whether the signed-in key's role may do what. Admins may do everything. */
export function can(what: Capability): boolean {
  const role = caller?.role;
  if (!role) return false;
  return role === "ADMIN" || rows[what].includes(role);
}
