// The console's calls to the JSON API. Every request and response type
// comes from schema.ts, generated from the server's OpenAPI document
// (scripts/gen-api.mjs); nothing here restates the API's shapes.
import type { components, operations } from "./schema";

export type Schemas = components["schemas"];
export type Ticket = Schemas["v1Ticket"];
export type TicketState = Schemas["v1TicketState"];
export type TicketPriority = Schemas["TicketPriority"];
export type TicketEvent = Schemas["v1TicketEvent"];
export type MetricsRow = Schemas["v1MetricsRow"];
export type ServiceMetrics = Schemas["v1ServiceMetrics"];
export type FaultStatistics = Schemas["v1FaultStatistics"];
export type Staff = Schemas["v1Staff"];
export type CostMetrics = Schemas["v1CostMetrics"];
export type Money = Schemas["googleTypeMoney"];
export type Complaint = Schemas["v1Complaint"];
export type FollowUp = Schemas["v1FollowUp"];
export type RpcStatus = Schemas["rpcStatus"];
export type Caller = Schemas["v1Caller"];
export type Role = Schemas["v1CallerRole"];
export type Customer = Schemas["v1Customer"];
export type Product = Schemas["v1Product"];
export type Partner = Schemas["v1Partner"];

type QueryOf<Op extends keyof operations> = operations[Op]["parameters"] extends { query?: infer Q } ? NonNullable<Q> : never;
type JSONOf<Op extends keyof operations> = operations[Op]["responses"] extends { 200: { content: { "application/json": infer R } } } ? R : never;
type BodyOf<Op extends keyof operations> = operations[Op] extends { requestBody: { content: { "application/json": infer B } } } ? B : never;

export type ListTicketsQuery = QueryOf<"TicketService_ListTickets">;
export type ListComplaintsQuery = QueryOf<"ComplaintService_ListComplaints">;
export type ListFollowUpsQuery = QueryOf<"FollowUpService_ListFollowUps">;
export type ServiceMetricsQuery = QueryOf<"ReportService_GetServiceMetrics">;
export type FaultStatisticsQuery = QueryOf<"ReportService_GetFaultStatistics">;
export type ResolveBody = BodyOf<"TicketService_ResolveTicket">;

const KEY = "aftersales.apiKey";

/** The API key of this tab's session: sessionStorage only, never a URL. */
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (k: string) => sessionStorage.setItem(KEY, k),
  signOut: () => sessionStorage.removeItem(KEY),
};

/** An error answer of the API: its HTTP status and google.rpc.Status. */
export class ApiError extends Error {
  constructor(public status: number, public body: RpcStatus) {
    super(body.message || `HTTP ${status}`);
  }
}

let onUnauthorized: (e: ApiError) => void = () => {};
/** Called when the API answers 401: the key is unknown, revoked or expired. */
export function whenUnauthorized(f: (e: ApiError) => void) {
  onUnauthorized = f;
}

type Params = Record<string, string | number | boolean | undefined>;

async function call<T>(method: "GET" | "POST", path: string, query?: Params, body?: unknown, accept = "application/json"): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") qs.set(k, String(v));
  const url = path + (qs.size ? `?${qs}` : "");
  const headers: Record<string, string> = { Accept: accept };
  const key = session.key();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    let st: RpcStatus = {};
    try {
      st = await res.json();
    } catch {
      st = { message: res.statusText };
    }
    const err = new ApiError(res.status, st);
    if (res.status === 401) onUnauthorized(err);
    throw err;
  }
  return (accept === "application/json" ? res.json() : res.text()) as Promise<T>;
}

// Resource names ("tickets/abc") are path segments of the API's URLs as
// they are: the gateway's patterns carry the slash.
const path = (name: string) => `/v1/${name.split("/").map(encodeURIComponent).join("/")}`;

export const api = {
  getCaller: () => call<Caller>("GET", "/v1/caller"),
  getCustomer: (name: string) => call<Customer>("GET", path(name)),
  getProduct: (name: string) => call<Product>("GET", path(name)),
  getPartner: (name: string) => call<Partner>("GET", path(name)),
  listTickets: (q: ListTicketsQuery) => call<JSONOf<"TicketService_ListTickets">>("GET", "/v1/tickets", q),
  listComplaints: (q: ListComplaintsQuery) => call<JSONOf<"ComplaintService_ListComplaints">>("GET", "/v1/complaints", q),
  listFollowUps: (q: ListFollowUpsQuery) => call<JSONOf<"FollowUpService_ListFollowUps">>("GET", "/v1/followUps", q),
  listStaff: (q: QueryOf<"StaffService_ListStaff">) => call<JSONOf<"StaffService_ListStaff">>("GET", "/v1/staff", q),
  listEnrollments: (staff: string, q: QueryOf<"TrainingService_ListEnrollments">) =>
    call<JSONOf<"TrainingService_ListEnrollments">>("GET", `${path(staff)}/enrollments`, q),
  getTicket: (name: string) => call<JSONOf<"TicketService_GetTicket">>("GET", path(name)),
  listTicketEvents: (name: string, q: QueryOf<"TicketService_ListTicketEvents">) =>
    call<JSONOf<"TicketService_ListTicketEvents">>("GET", `${path(name)}/events`, q),
  assign: (t: Ticket, body: BodyOf<"TicketService_AssignTicket">) => call<Ticket>("POST", `${path(t.name!)}:assign`, undefined, body),
  accept: (t: Ticket, body: BodyOf<"TicketService_AcceptTicket">) => call<Ticket>("POST", `${path(t.name!)}:accept`, undefined, body),
  start: (t: Ticket, body: BodyOf<"TicketService_StartTicket">) => call<Ticket>("POST", `${path(t.name!)}:start`, undefined, body),
  pause: (t: Ticket, body: BodyOf<"TicketService_PauseTicket">) => call<Ticket>("POST", `${path(t.name!)}:pause`, undefined, body),
  resume: (t: Ticket, body: BodyOf<"TicketService_ResumeTicket">) => call<Ticket>("POST", `${path(t.name!)}:resume`, undefined, body),
  resolve: (t: Ticket, body: ResolveBody) => call<Ticket>("POST", `${path(t.name!)}:resolve`, undefined, body),
  close: (t: Ticket, body: BodyOf<"TicketService_CloseTicket">) => call<Ticket>("POST", `${path(t.name!)}:close`, undefined, body),
  serviceMetrics: (q: ServiceMetricsQuery) => call<ServiceMetrics>("GET", "/v1/serviceMetrics", q),
  costMetrics: (q: QueryOf<"ReportService_GetCostMetrics">) => call<Schemas["v1CostMetrics"]>("GET", "/v1/costMetrics", q),
  faultStatistics: (q: FaultStatisticsQuery) => call<FaultStatistics>("GET", "/v1/faultStatistics", q),
  faultStatisticsCSV: (q: FaultStatisticsQuery) => call<string>("GET", "/v1/faultStatistics", q, undefined, "text/csv"),
};
