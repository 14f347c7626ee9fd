// What the signed-in key's role may do, for showing only those pages and
// actions. The server says which methods the role may call (GetCaller's
// methods, from its policy table); a capability is the methods the
// console calls for it. The API still checks and scopes every call.
import type { Caller } from "./api/client";

const svc = (service: string, ...methods: string[]) => methods.map((m) => `/aftersales.v1.${service}/${m}`);

const rows = {
  complaints: svc("ComplaintService", "ListComplaints"),
  followups: svc("FollowUpService", "ListFollowUps"),
  qualification: [...svc("StaffService", "ListStaff"), ...svc("TrainingService", "ListEnrollments")],
  // The dashboard shows the company's cost figures beside the service
  // figures.
  dashboard: [...svc("ReportService", "GetServiceMetrics", "GetCostMetrics")],
  faults: svc("ReportService", "GetFaultStatistics"),
  assign: svc("TicketService", "AssignTicket"),
  work: svc("TicketService", "AcceptTicket", "StartTicket", "PauseTicket", "ResumeTicket", "ResolveTicket"),
  close: svc("TicketService", "CloseTicket"),
};

export type Capability = keyof typeof rows;

let caller: Caller | null = null;
let allowed = new Set<string>();

/** Set at sign-in (GetCaller) and cleared at sign-out. */
export function setCaller(c: Caller | null) {
  caller = c;
  allowed = new Set(c?.methods ?? []);
}

export function currentCaller(): Caller | null {
  return caller;
}

/** Whether the signed-in key may call every method behind what. */
export function can(what: Capability): boolean {
  return rows[what].every((m) => allowed.has(m));
}
