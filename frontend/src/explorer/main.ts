/** The schema explorer at /explorer (issue 15): GraphiQL for developers, bundled with the app (plants are often
 * offline, so nothing comes from a CDN) and sending the token of this tab's signed-in session (src/api/session.ts).
 * Without one it asks to sign in in the app first; GraphiQL itself is loaded only for a signed-in user. */

import "./explorer.css";
import { session } from "../api/session";
import { h } from "../dom";
import { t } from "../i18n";

const root = document.getElementById("explorer")!;
document.title = t("explorer.title");

function signInFirst(): HTMLElement {
  return h("main", { class: "explorer-notice", "data-testid": "explorer-sign-in" },
    h("h1", null, t("explorer.title")),
    h("p", null, t("explorer.signInFirst")),
    h("p", null, h("a", { href: "/", class: "explorer-link" }, t("explorer.signIn"))));
}

async function start(): Promise<void> {
  const token = session.token;
  if (!token) {
    root.replaceChildren(signInFirst());
    return;
  }
  try {
    const { mountGraphiQL } = await import("./graphiql");
    mountGraphiQL(root, token);
  } catch (e) {
    root.replaceChildren(h("main", { class: "explorer-notice" },
      h("p", { role: "alert" }, t("explorer.failed", { error: e instanceof Error ? e.message : String(e) })),
      h("p", null, h("a", { href: "/" }, t("explorer.backToApp")))));
  }
}

void start();
