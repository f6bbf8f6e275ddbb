/** The app shell: sign-in, navigation between the views the user's roles can use (control room, trace, tablet,
 * batch records, lab, quality, audit trail). */

import "./styles.css";
import { changePassword, signIn, signInWithToken, signOut, tokenErrorText } from "./api/auth";
import { errorText, setUnauthenticatedHandler } from "./api/gql";
import { live } from "./api/live";
import { canAny } from "./api/permissions";
import { session } from "./api/session";
import { h } from "./dom";
import { currentSigner } from "./sign/keyring";
import { SignerUnavailable } from "./sign/signer";
import { connectionBanner } from "./ui/connection";
import { languageSwitch, t } from "./i18n";

type View = "control" | "trace" | "tablet" | "batches" | "lab" | "quality" | "audit";
type Route = { name: View; sub: string; query: URLSearchParams; asked: boolean };

/** The views in the navigation's order, each with the permissions ("object:action", any one) its queries need
 * (schema/ can(...)): a view the user's roles cannot read is not offered. */
const VIEWS: { name: View; needs: string[] }[] = [
  { name: "control", needs: ["plant:alarm:read"] },
  { name: "trace", needs: ["trace:graph:read"] },
  { name: "tablet", needs: ["plant:task:read"] },  // its task list opens it, for the floor
  { name: "batches", needs: ["batch:record:read"] },
  { name: "lab", needs: ["quality:test_record:write", "quality:test_record:review", "quality:instrument_run:read"] },
  { name: "quality", needs: ["quality:oos:read", "quality:review:read"] },
  { name: "audit", needs: ["audit:trail:read"] },
];

function usable(name: View): boolean {
  return canAny(...(VIEWS.find((v) => v.name === name)?.needs ?? []));
}

function route(): Route {
  const [path, qs] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  const known = VIEWS.some((v) => v.name === parts[0]);
  const name = known ? (parts[0] as View) : "control";
  return { name, sub: decodeURIComponent(parts[1] ?? ""), query: new URLSearchParams(qs ?? ""), asked: known };
}

const app = document.getElementById("app")!;
let disposeView: (() => void) | null = null;
let mountedKey = "";
let signInNotice: string | null = null;
// The sign-in form asks for an access token instead of a username and password (a regulator's scoped token).
let tokenMode = false;

function header(r: Route): HTMLElement {
  const v = session.viewer!;
  const link = (name: View) =>
    h("a", { href: `#/${name}`, class: r.name === name ? "active" : "", "aria-current": r.name === name ? "page" : null,
      "data-view": name }, t(`nav.${name}`));
  return h("header", { class: "topbar" },
    h("span", { class: "brand" }, "PlasmaTwin"),
    h("nav", { class: "mainnav", "aria-label": t("nav.label") },
      ...VIEWS.filter((v) => usable(v.name)).map((v) => link(v.name))),
    h("span", { class: "spacer" }),
    h("span", { class: "who", "data-testid": "viewer" }, `${v.displayName} (${v.username})`,
      h("span", { class: "roles" }, ` · ${v.roles.join(", ")}`)),
    tokenBadge(),
    explorerLink(r),
    languageSwitch(),
    h("button", { class: "small", onClick: () => void doSignOut() }, t("shell.signOut")));
}

/** A session made with an access token says so: its scope is what QA issued (the Viewer does not name it), and
 * it is read-only when the server lists only reads for it. */
function tokenBadge(): HTMLElement | null {
  if (session.kind !== "token") return null;
  const readOnly = (session.viewer?.permissions ?? []).every((p) => /:(read|export)$/.test(p));
  return h("span", { class: "token-badge", "data-testid": "token-session", title: t("shell.tokenSessionTitle") },
    t(readOnly ? "shell.tokenReadOnly" : "shell.tokenSession"));
}

/** The schema explorer for developers (/explorer, issue 15), opened in this tab since it uses this tab's session;
 * not on the touch screens (tablet, lab bench). */
function explorerLink(r: Route): HTMLElement | null {
  if (r.name === "tablet" || r.name === "lab") return null;
  return h("a", { href: "/explorer", class: "who explorer-link", title: t("explorer.linkTitle"),
    "data-testid": "explorer-link" }, t("explorer.link"));
}

async function doSignOut(): Promise<void> {
  teardown();
  live.stop();
  await signOut();
  render();
}

function teardown(): void {
  disposeView?.();
  disposeView = null;
  mountedKey = "";
}

function signInView(r: Route): HTMLElement {
  if (tokenMode) return tokenSignInView(r);
  const user = h("input", { name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", required: true });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const err = h("div", { class: "error-box", role: "alert", hidden: !signInNotice }, signInNotice ?? "");
  signInNotice = null;
  const submit = h("button", { type: "submit", class: "primary big" }, t("signin.submit"));
  const form = h("form", { class: "signin" },
    h("h1", null, "PlasmaTwin"),
    h("p", { class: "muted" }, r.name === "tablet" ? t("signin.tabletSubtitle") : t("signin.subtitle")),
    h("label", { class: "field" }, h("span", null, t("signin.username")), user),
    h("label", { class: "field" }, h("span", null, t("signin.password")), pass),
    err, submit, switchMode(true), h("div", { class: "signin-lang" }, languageSwitch()));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    try {
      await signIn(user.value.trim(), pass.value);
      render();
    } catch (e) {
      err.hidden = false;
      err.textContent = t("signin.refused", { error: errorText(e) });
      submit.disabled = false;
    }
  });
  setTimeout(() => user.focus(), 0);
  return h("main", { class: `signin-page ${r.name === "tablet" ? "tablet-mode" : ""}` }, form);
}

/** The secondary action between the two ways of signing in. */
function switchMode(toToken: boolean): HTMLElement {
  return h("button", { type: "button", class: "link signin-switch", "data-testid": toToken ? "use-token" : "use-password",
    onClick: () => { tokenMode = toToken; void render(); } },
  t(toToken ? "signin.useToken" : "signin.usePassword"));
}

/** Sign in with the access token QA issued (a regulator's scoped token): kept in this tab only. */
function tokenSignInView(r: Route): HTMLElement {
  const token = h("input", { name: "token", type: "password", autocomplete: "off", autocapitalize: "none",
    spellcheck: "false", required: true });
  const err = h("div", { class: "error-box", role: "alert", hidden: !signInNotice, "data-testid": "token-refused" },
    signInNotice ?? "");
  signInNotice = null;
  const submit = h("button", { type: "submit", class: "primary big" }, t("signin.tokenSubmit"));
  const form = h("form", { class: "signin signin-token", "data-testid": "token-sign-in" },
    h("h1", null, "PlasmaTwin"),
    h("p", { class: "muted" }, t("signin.tokenIntro")),
    h("label", { class: "field" }, h("span", null, t("signin.token")), token),
    err, submit, switchMode(false), h("div", { class: "signin-lang" }, languageSwitch()));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    try {
      await signInWithToken(token.value);
      tokenMode = false;
      token.value = "";
      render();
    } catch (e) {
      err.hidden = false;
      err.textContent = t("signin.tokenRefused", { error: tokenErrorText(e) });
      submit.disabled = false;
    }
  });
  setTimeout(() => token.focus(), 0);
  return h("main", { class: `signin-page ${r.name === "tablet" ? "tablet-mode" : ""}` }, form);
}

/** A one-time password (a new account) is replaced before anything else is shown. */
function changePasswordView(): HTMLElement {
  const current = h("input", { name: "current", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { name: "new", type: "password", autocomplete: "new-password", required: true, minlength: "12" });
  const again = h("input", { name: "again", type: "password", autocomplete: "new-password", required: true });
  const err = h("div", { class: "error-box", role: "alert", hidden: true }, "");
  const submit = h("button", { type: "submit", class: "primary big" }, t("password.submit"));
  const form = h("form", { class: "signin" },
    h("h1", null, t("password.title")),
    h("p", { class: "muted" }, t("password.intro")),
    h("label", { class: "field" }, h("span", null, t("password.current")), current),
    h("label", { class: "field" }, h("span", null, t("password.new")), next),
    h("label", { class: "field" }, h("span", null, t("password.again")), again),
    err, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (next.value !== again.value) {
      err.hidden = false;
      err.textContent = t("password.differ");
      return;
    }
    submit.disabled = true;
    try {
      await changePassword(current.value, next.value);
      render();
    } catch (e) {
      err.hidden = false;
      err.textContent = t("password.refused", { error: errorText(e) });
      submit.disabled = false;
    }
  });
  setTimeout(() => current.focus(), 0);
  return h("main", { class: "signin-page" }, form);
}

const banner = connectionBanner();

/** Told before filling a form, not after: why this browser cannot sign for this user (an SM2 key, no WebCrypto). */
function signingNotice(): HTMLElement {
  const el = h("div", { class: "signing-notice", role: "status", "data-testid": "signing-unavailable", hidden: true });
  currentSigner().catch((e: unknown) => {
    if (!(e instanceof SignerUnavailable)) return;
    el.replaceChildren(h("strong", null, t("shell.signingUnavailable")), e.message);
    el.hidden = false;
  });
  return el;
}

/** Without a view asked for, the first the user can use (a regulator has no control room). */
function landing(r: Route): boolean {
  if (r.asked || usable(r.name)) return false;
  const first = VIEWS.find((v) => usable(v.name));
  if (!first) return false;
  location.replace(`#/${first.name}`);
  return true;
}

async function render(): Promise<void> {
  const r = route();
  document.body.classList.toggle("tablet-mode", r.name === "tablet" || r.name === "lab");
  if (!session.token || !session.viewer) {
    teardown();
    live.stop();
    app.replaceChildren(signInView(r));
    return;
  }
  if (session.viewer.passwordChangeRequired) {
    teardown();
    live.stop();
    app.replaceChildren(changePasswordView());
    return;
  }
  if (landing(r)) return;  // the hash change renders it
  live.start();
  const key = `${session.viewer.username}|${location.hash.split("?")[0]}|${r.name === "trace" ? "" : r.query.toString()}`;
  if (key === mountedKey) return;
  teardown();
  mountedKey = key;
  const main = h("main", { class: `view view-${r.name}` });
  // An access token session is read-only and cannot sign: no notice about this browser's signing.
  app.replaceChildren(header(r), banner.el, ...(session.kind === "token" ? [] : [signingNotice()]), main);
  try {
    if (!usable(r.name)) {
      main.replaceChildren(h("div", { class: "notice", role: "status", "data-testid": "view-not-permitted" },
        t("shell.viewNotPermitted", { view: t(`nav.${r.name}`) })));
    } else if (r.name === "audit") {
      const { mountAudit } = await import("./audit/view");
      disposeView = mountAudit(main);
    } else if (r.name === "control") {
      const { mountControlRoom } = await import("./control/view");
      disposeView = await mountControlRoom(main);
    } else if (r.name === "batches") {
      const { mountBatches } = await import("./batches/view");
      disposeView = await mountBatches(main, r.sub);
    } else if (r.name === "quality") {
      const { mountQuality } = await import("./quality/view");
      disposeView = await mountQuality(main, r.sub, r.query);
    } else if (r.name === "lab") {
      const { mountLab } = await import("./lab/view");
      disposeView = mountLab(main, r.sub);
    } else if (r.name === "trace") {
      const { mountTrace } = await import("./trace/view");
      disposeView = mountTrace(main);
    } else {
      const { mountTablet } = await import("./tablet/view");
      disposeView = await mountTablet(main, r.sub, r.query);
    }
  } catch (e) {
    main.replaceChildren(h("div", { class: "error-box", role: "alert" }, t("shell.viewFailed", { error: errorText(e) })),
      h("button", { onClick: () => { mountedKey = ""; void render(); } }, t("shell.tryAgain")));
  }
}

const expired = () => {
  if (!session.token) return;
  signInNotice = t("shell.sessionEnded");
  tokenMode = session.kind === "token";  // the form it was made with: an expired or revoked token asks for a new one
  teardown();
  live.stop();
  session.clear();
  void render();
};
setUnauthenticatedHandler(expired);
live.onUnauthorized = expired;
window.addEventListener("hashchange", () => void render());
void render();
