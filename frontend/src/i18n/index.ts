/**
 * The interface's language: Simplified Chinese by default, English on request, the choice kept in
 * localStorage. Every text the UI shows comes from the catalogues here through `t()`; the GMP record
 * itself (what is sent and signed) is never translated.
 */

import i18next from "i18next";
import en from "./en.json";
import zhCN from "./zh-CN.json";

export type Lang = "zh-CN" | "en";

/** The languages offered, each named in its own language. */
export const LANGS: readonly { code: Lang; name: string }[] = [
  { code: "zh-CN", name: "中文" },
  { code: "en", name: "English" },
];

export const DEFAULT_LANG: Lang = "zh-CN";
const KEY = "plasmatwin.lang";

function stored(): Lang {
  try {
    const v = localStorage.getItem(KEY);
    if (LANGS.some((l) => l.code === v)) return v as Lang;
  } catch {
    /* storage blocked: the default */
  }
  return DEFAULT_LANG;
}

// Synchronous: the catalogues are bundled, so the first paint is already in the right language.
void i18next.init({
  lng: stored(),
  fallbackLng: "en",
  resources: { en: { translation: en }, "zh-CN": { translation: zhCN } },
  keySeparator: false,
  nsSeparator: false,
  initAsync: false,
  interpolation: { escapeValue: false }, // the DOM helpers set text, never HTML
});
document.documentElement.lang = i18next.language;

export type Params = Record<string, string | number | null | undefined>;

/** The text of `key` in the current language, `{{name}}` replaced from `params`. */
export function t(key: string, params?: Params): string {
  return i18next.t(key, params ?? {});
}

/** Whether the catalogue has `key` (e.g. a server error code the UI has a text for). */
export function has(key: string): boolean {
  return i18next.exists(key);
}

export function lang(): Lang {
  return i18next.language as Lang;
}

/** Switch and remember the language; the page is reloaded so every view is drawn again in it. */
export function setLang(code: Lang): void {
  try {
    localStorage.setItem(KEY, code);
  } catch {
    /* not remembered, still switched for this page */
  }
  if (code === lang()) return;
  location.reload();
}

/** The language switch offered in the top bar and on the sign-in page. */
export function languageSwitch(): HTMLSelectElement {
  const sel = document.createElement("select");
  sel.className = "lang-switch";
  sel.setAttribute("aria-label", t("lang.switch"));
  sel.setAttribute("data-testid", "lang-switch");
  for (const l of LANGS) {
    const o = document.createElement("option");
    o.value = l.code;
    o.textContent = l.name;
    o.selected = l.code === lang();
    o.lang = l.code;
    sel.append(o);
  }
  sel.addEventListener("change", () => setLang(sel.value as Lang));
  return sel;
}

/** The zone of a moment as an offset, e.g. "UTC+8", "UTC-3:30", "UTC": never ambiguous, any locale. */
export function zoneLabel(d: Date): string {
  const off = -d.getTimezoneOffset();
  if (off === 0) return "UTC";
  const a = Math.abs(off);
  const mins = a % 60 ? `:${String(a % 60).padStart(2, "0")}` : "";
  return `UTC${off > 0 ? "+" : "-"}${Math.floor(a / 60)}${mins}`;
}
