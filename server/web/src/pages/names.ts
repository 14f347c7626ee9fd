import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";

// Display names of the resources the pages refer to, read at most once
// per session per name: staff from ListStaff (one call for all);
// customers, products and partner shops with one Get per distinct name,
// several at a time, because the API has no batch read and its filters
// cannot name several resources (AIP-160 here joins with AND only). A
// queue page of 50 tickets of 50 customers is 50 reads once, not one per
// row and render. Names a key may not read stay as they are.
let staff: Promise<Map<string, string>> | null = null;
const others = new Map<string, string>();
const pending = new Map<string, Promise<void>>();
const listeners = new Set<() => void>();

function loadStaff(): Promise<Map<string, string>> {
  staff ??= (async () => {
    const m = new Map<string, string>();
    try {
      let pageToken: string | undefined;
      do {
        const r = await api.listStaff({ pageSize: 1000, pageToken });
        for (const s of r.staff ?? []) if (s.name && s.displayName) m.set(s.name, s.displayName);
        pageToken = r.nextPageToken || undefined;
      } while (pageToken && m.size < 5000);
    } catch {
      // 403 for technicians: names stay as they are.
    }
    return m;
  })();
  return staff;
}

/** The display name of a customer, product ("WM-8000 · SN…") or partner shop. */
async function read(name: string): Promise<string> {
  if (name.includes("/products/")) {
    const p = await api.getProduct(name);
    return [p.model, p.serialNumber].filter(Boolean).join(" · ") || name;
  }
  if (name.startsWith("customers/")) return (await api.getCustomer(name)).displayName || name;
  if (name.startsWith("partners/")) return (await api.getPartner(name)).displayName || name;
  return name;
}

const readable = (n: string) => n.startsWith("customers/") || n.startsWith("partners/");

/** Reads the names not read yet, at most 6 at a time, then tells the pages. */
function fetchNames(names: (string | undefined)[]) {
  const todo = [...new Set(names.filter((n): n is string => !!n && readable(n) && !others.has(n) && !pending.has(n)))];
  if (todo.length === 0) return;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const n = todo[next++];
      try {
        others.set(n, await read(n));
      } catch {
        others.set(n, n); // not readable with this key: keep the resource name
      }
    }
  };
  const all = Promise.all(Array.from({ length: Math.min(6, todo.length) }, worker)).then(() => {
    for (const n of todo) pending.delete(n);
    for (const f of listeners) f();
  });
  for (const n of todo) pending.set(n, all);
}

/** Forget the names (at sign-out: the next key may see others). */
export function forgetNames() {
  staff = null;
  others.clear();
  pending.clear();
}

/**
 * A function naming a resource by its display name, or by the name itself
 * until (or unless) it is read. want lists the customers, products and
 * partners the page shows, read in one batch when it changes.
 */
export function useNames(want: (string | undefined)[] = []): (name?: string) => string {
  const [m, setM] = useState<Map<string, string> | null>(null);
  const [, setVersion] = useState(0);
  useEffect(() => {
    loadStaff().then(setM);
    const f = () => setVersion((v) => v + 1);
    listeners.add(f);
    return () => {
      listeners.delete(f);
    };
  }, []);
  const key = want.join("\n");
  useEffect(() => fetchNames(want), [key]);
  return (name?: string) => (name ? m?.get(name) ?? others.get(name) ?? name : "—");
}
