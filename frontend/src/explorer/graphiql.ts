/** GraphiQL over HTTP on /graphql with the session's token; its own chunk, loaded only when someone is signed in.
 * Subscriptions are not offered here (the app's WebSocket client is not wired in). */

import "graphiql/style.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { t } from "../i18n";

// A query every role may run, to show what the explorer answers before anything is typed.
const DEFAULT_QUERY = "query Me {\n  viewer {\n    username\n    roles\n  }\n}\n";

export function mountGraphiQL(el: HTMLElement, token: string): void {
  const fetcher = createGraphiQLFetcher({ url: "/graphql", headers: { authorization: `Bearer ${token}` } });
  // The logo's place links back to the app (same tab: the session lives in this tab's sessionStorage).
  const logo = createElement(GraphiQL.Logo, null,
    createElement("a", { href: "/", className: "explorer-back", title: t("explorer.backToApp") }, "PlasmaTwin"));
  el.replaceChildren();
  el.classList.add("explorer-editor");
  createRoot(el).render(createElement(GraphiQL, { fetcher, defaultQuery: DEFAULT_QUERY }, logo));
}
