/** A modal dialog on <dialog>, and transient notices. */

import { h } from "../dom";

export interface ModalHandle {
  dialog: HTMLDialogElement;
  body: HTMLDivElement;
  close(): void;
}

/** `onClose` runs once when the dialog goes, however it is closed (e.g. to stop a live subscription). */
export function openModal(title: string, build: (m: ModalHandle) => void, cls = "", onClose?: () => void): ModalHandle {
  const body = h("div", { class: "modal-body" });
  const dialog = h("dialog", { class: `modal ${cls}`, "aria-label": title },
    h("header", { class: "modal-head" }, h("h2", null, title)), body);
  const handle: ModalHandle = {
    dialog, body,
    close: () => {
      if (!dialog.isConnected) return;
      dialog.close();
      dialog.remove();
      onClose?.();
    },
  };
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    handle.close();
  });
  document.body.append(dialog);
  build(handle);
  dialog.showModal();
  return handle;
}

let toastHost: HTMLDivElement | null = null;

export function toast(text: string, kind: "ok" | "error" = "ok", ms = 4000): void {
  if (!toastHost) {
    toastHost = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastHost);
  }
  const t = h("div", { class: `toast toast-${kind}` }, text);
  toastHost.append(t);
  setTimeout(() => t.remove(), ms);
}

/** An inline error area for refused actions: the server's code and reason, until dismissed. */
export function errorBox(): { el: HTMLDivElement; show(text: string): void; clear(): void } {
  const el = h("div", { class: "error-box", role: "alert", hidden: true });
  return {
    el,
    show(text: string) {
      el.hidden = false;
      el.textContent = text;
    },
    clear() {
      el.hidden = true;
      el.textContent = "";
    },
  };
}
