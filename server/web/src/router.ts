// Hash routes (#/queue, #/tickets/{id}, #/dashboard, #/faults), so the
// server needs no SPA fallback: every page is index.html at "/".
import { useEffect, useState } from "preact/hooks";

export type Route = { page: string; id?: string; query: URLSearchParams };

export function parse(hash: string): Route {
  const [p, q] = hash.replace(/^#\/?/, "").split("?", 2);
  const parts = p.split("/").filter(Boolean);
  const query = new URLSearchParams(q ?? "");
  if (parts[0] === "tickets" && parts[1]) return { page: "ticket", id: decodeURIComponent(parts[1]), query };
  return { page: parts[0] || "queue", query };
}

export function useRoute(): Route {
  const [r, setR] = useState(() => parse(location.hash));
  useEffect(() => {
    const f = () => setR(parse(location.hash));
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return r;
}

export function go(hash: string) {
  location.hash = hash;
}
