import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";

// Display names of staff ("staff/…" → "Li Na"), read once per session
// from ListStaff; keys that may not list staff see the resource names.
let names: Promise<Map<string, string>> | null = null;

function load(): Promise<Map<string, string>> {
  names ??= (async () => {
    const m = new Map<string, string>();
    try {
      let pageToken: string | undefined;
      do {
        const r = await api.listStaff({ pageSize: 1000, pageToken });
        for (const s of r.staff ?? []) if (s.name && s.displayName) m.set(s.name, s.displayName);
        pageToken = r.nextPageToken || undefined;
      } while (pageToken && m.size < 5000);
    } catch {
      // 403 for technicians and shops: names stay as they are.
    }
    return m;
  })();
  return names;
}

/** Forget the names (at sign-out: the next key may see others). */
export function forgetNames() {
  names = null;
}

/** A function naming a resource: a staff member's display name, or the name itself. */
export function useNames(): (name?: string) => string {
  const [m, setM] = useState<Map<string, string> | null>(null);
  useEffect(() => {
    load().then(setM);
  }, []);
  return (name?: string) => (name ? m?.get(name) ?? name : "—");
}
