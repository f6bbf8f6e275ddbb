/** Pieces the tablet screens share: big choice buttons, the signing button, result cards. */

import { errorText } from "../api/gql";
import { h } from "../dom";
import { SignerUnavailable } from "../sign/signer";
import { t } from "../i18n";

/** A row of big toggle buttons acting as one radio group; `value()` is null until one is chosen. */
export function choice<T extends string>(name: string, options: { value: T; text: string }[], initial: T | null = null,
  onChange?: (v: T) => void): { el: HTMLElement; value(): T | null; set(v: T | null): void } {
  let current: T | null = initial;
  const buttons = options.map((o) => {
    const b = h("button", { type: "button", class: "choice", "data-value": o.value, "aria-pressed": String(o.value === initial) }, o.text);
    b.addEventListener("click", () => {
      set(o.value);
      onChange?.(o.value);
    });
    return b;
  });
  const set = (v: T | null) => {
    current = v;
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.getAttribute("data-value") === v));
  };
  return { el: h("div", { class: "choices", role: "group", "aria-label": name, "data-choice": name }, ...buttons), value: () => current, set };
}

export function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", null, label), control, hint ? h("small", { class: "muted" }, hint) : "");
}

export function refusal(e: unknown): string {
  if (e instanceof SignerUnavailable) return t("sign.cannot", { reason: e.message });
  return t("common.refused", { error: errorText(e) });
}

/** Runs `action` with the button showing progress; errors go to `onError`. */
export async function busy(button: HTMLButtonElement, text: string, action: () => Promise<void>,
  onError: (e: unknown) => void): Promise<void> {
  const before = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    await action();
  } catch (e) {
    onError(e);
  } finally {
    button.disabled = false;
    button.textContent = before;
  }
}

/** Server-made SVG shown as an image: it renders, but cannot run script or touch the page. */
export function svgImage(svg: string, alt: string, cls: string): HTMLImageElement {
  return h("img", { class: cls, alt, src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
}
