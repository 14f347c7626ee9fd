import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { t } from "../i18n";

export function SignIn(props: { error: string; onSignIn: (key: string) => void; langSwitch: ComponentChildren }) {
  const [key, setKey] = useState("");
  return (
    <main class="signin">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (key.trim()) props.onSignIn(key.trim());
        }}
      >
        <h1>{t("appName")}</h1>
        {props.langSwitch}
        <label for="api-key">{t("apiKey")}</label>
        <input id="api-key" name="api-key" type="password" autoComplete="off" spellcheck={false} required value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)} aria-describedby="api-key-hint" />
        <p id="api-key-hint" class="hint">{t("apiKeyHint")}</p>
        {props.error && (
          <p role="alert" class="error">
            {props.error}
          </p>
        )}
        <button type="submit">{t("signIn")}</button>
      </form>
    </main>
  );
}
