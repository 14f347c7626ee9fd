import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, session, whenUnauthorized } from "./api/client";
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
  const [authError, setAuthError] = useState("");
  const [, setLangState] = useState<Lang>(getLang());

  useEffect(() => {
    whenUnauthorized(() => {
      session.signOut();
      forgetNames();
      setAuthError(t("badKey"));
      setSignedIn(false);
    });
  }, []);

  async function signIn(key: string) {
    session.signIn(key);
    setAuthError("");
    try {
      // Any call checks the key; one a role may not make (403) still
      // proves the key is good.
      await api.listTickets({ pageSize: 1 });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      if (!(e instanceof ApiError)) {
        session.signOut();
        setAuthError(String(e));
        return;
      }
    }
    setSignedIn(true);
    if (!location.hash || location.hash === "#/") go("#/queue");
  }

  function signOut() {
    session.signOut();
    forgetNames();
    setAuthError("");
    setSignedIn(false);
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

  const nav = [
    ["queue", "#/queue", t("queue")],
    ["complaints", "#/complaints", t("complaints")],
    ["followups", "#/followups", t("followUps")],
    ["qualification", "#/qualification", t("qualification")],
    ["dashboard", "#/dashboard", t("dashboard")],
    ["faults", "#/faults", t("faults")],
  ];
  const current = route.page === "ticket" ? "queue" : route.page;
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
        {langSwitch}
        <button type="button" onClick={signOut}>
          {t("signOut")}
        </button>
      </header>
      <main>
        {route.page === "ticket" && route.id ? (
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
