import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";

/**
 * A list read page by page from a List method: the first page when key
 * (the query) changes, the next when the end of the list scrolls into
 * view (AIP-158 page tokens).
 */
export function usePaged<T>(key: string, fetchPage: (pageToken?: string) => Promise<{ items: T[]; next?: string }>) {
  const [items, setItems] = useState<T[]>([]);
  const [token, setToken] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);

  async function load(pageToken: string | undefined, g: number) {
    setLoading(true);
    try {
      const res = await fetchPage(pageToken);
      if (g !== gen.current) return;
      setItems((old) => (pageToken ? [...old, ...res.items] : res.items));
      setToken(res.next || undefined);
      setError(null);
    } catch (e) {
      if (g === gen.current) setError(e);
    } finally {
      if (g === gen.current) setLoading(false);
    }
  }

  useEffect(() => {
    const g = ++gen.current;
    setItems([]);
    setToken(undefined);
    load(undefined, g);
  }, [key]);

  useEffect(() => {
    const el = sentinel.current;
    if (!el || !token) return;
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting) && !loading) load(token, gen.current);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [token, loading]);

  const more = (
    <div ref={sentinel} class="sentinel">
      {loading ? (
        t("loading")
      ) : token ? (
        <button type="button" onClick={() => load(token, gen.current)}>
          {t("loadMore")}
        </button>
      ) : items.length > 0 ? (
        <span class="muted">{t("end")}</span>
      ) : !error ? (
        <span class="muted">{t("none")}</span>
      ) : null}
    </div>
  );
  return { items, loading, error, more };
}
