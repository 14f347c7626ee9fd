import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, session, whenUnauthorized, type Caller } from "./api/client";
import { can, currentCaller, setCaller, type Capability } from "./access";
import { getLang, setLang, t, type Lang } from "./i18n";
import { go, useRoute } from "./router";
import { SignIn } from "./pages/SignIn";
import { Queue } from "./pages/Queue";
import { TicketPage } from "./pages/Ticket";
import { Dashboard } from "./pages/Dashboard";
import { Faults } from "./pages/Faults";
import { Complaints } from "./pages/Complaints";
import { FollowUps } from "./pages/FollowUps";
import { Qualification } from "./pages/Qualification";
import { forgetNames } from "./pages/names";
import "./style.css";

function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  const [caller, setCallerState] = useState<Caller | null>(null);
  const [authError, setAuthError] = useState("");
  const [, setLangState] = useState<Lang>(getLang());

  function forget() {
    session.signOut();
    forgetNames();
    setCaller(null);
    setCallerState(null);
    setSignedIn(false);
  }

  useEffect(() => {
    whenUnauthorized(() => {
      forget();
      setAuthError(t("badKey"));
    });
  }, []);

  /** Who the key acts as (GetCaller), which also checks the key: 401 is the sign-in page with an error. */
  async function identify(): Promise<boolean> {
    try {
      const c = await api.getCaller();
      setCaller(c);
      setCallerState(c);
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) {
        forget();
        setAuthError(e instanceof Error ? e.message : String(e));
      }
      return false;
    }
  }

  // A reload keeps the tab's key: ask again who it is.
  useEffect(() => {
    if (signedIn && !caller) identify();
  }, []);

  async function signIn(key: string) {
    session.signIn(key);
    setAuthError("");
    if (!(await identify())) return;
    setSignedIn(true);
    // Trainers have no tickets of their own (the API lists them none):
    // they start on the qualification board.
    if (!location.hash || location.hash === "#/") go(currentCaller()?.role === "TRAINER" ? "#/qualification" : "#/queue");
  }

  function signOut() {
    forget();
    setAuthError("");
  }

  function switchLang(l: Lang) {
    setLang(l);
    setLangState(l);
  }

  const langSwitch = (
    <label class="lang">
      <span class="sr-only">{t("language")}</span>
      <select value={getLang()} onChange={(e) => switchLang((e.target as HTMLSelectElement).value as Lang)} aria-label={t("language")}>
        <option value="zh-CN">中文</option>
        <option value="en">English</option>
      </select>
    </label>
  );

  if (!signedIn) return <SignIn error={authError} onSignIn={signIn} langSwitch={langSwitch} />;
  if (!caller)
    return (
      <main>
        <p>{t("loading")}</p>
      </main>
    );

  // The pages the key's role may see (the queue and tickets: every role).
  const nav = (
    [
      ["queue", "#/queue", t("queue")],
      ["complaints", "#/complaints", t("complaints")],
      ["followups", "#/followups", t("followUps")],
      ["qualification", "#/qualification", t("qualification")],
      ["dashboard", "#/dashboard", t("dashboard")],
      ["faults", "#/faults", t("faults")],
    ] as const
  ).filter(([p]) => p === "queue" || can(p as Capability));
  const current = route.page === "ticket" ? "queue" : route.page;
  const pages = new Set(["queue", "complaints", "followups", "qualification", "dashboard", "faults"]);
  const denied = route.page !== "ticket" && route.page !== "queue" && pages.has(route.page) && !can(route.page as Capability);
  return (
    <>
      <header class="top">
        <strong class="brand">{t("appName")}</strong>
        <nav aria-label="main">
          {nav.map(([p, href, label]) => (
            <a href={href} aria-current={current === p ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <span class="who" data-role={caller.role}>
          {t(`role.${caller.role}`)}
        </span>
        {langSwitch}
        <button type="button" onClick={signOut}>
          {t("signOut")}
        </button>
      </header>
      <main>
        {denied ? (
          <section aria-labelledby="denied-title">
            <h1 id="denied-title">{t("notForRole")}</h1>
            <p class="error" role="alert">
              {t("noAccess")}
            </p>
          </section>
        ) : route.page === "ticket" && route.id ? (
          <TicketPage id={route.id} />
        ) : route.page === "dashboard" ? (
          <Dashboard />
        ) : route.page === "faults" ? (
          <Faults />
        ) : route.page === "qualification" ? (
          <Qualification />
        ) : route.page === "complaints" ? (
          <Complaints query={route.query} />
        ) : route.page === "followups" ? (
          <FollowUps query={route.query} />
        ) : (
          <Queue query={route.query} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
