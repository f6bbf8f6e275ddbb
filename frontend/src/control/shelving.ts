/**
 * Shelving (ISA-18.2): a nuisance tag's limit alarms taken off the screen for a while, with a reason and a
 * time limit, signed; the list of tags shelved now, each ended early with Unshelve (signed, with a reason).
 * Buttons only for roles that may shelve; the list for everyone who sees the alarms.
 */

import { errorText } from "../api/gql";
import { fmtTime, h } from "../dom";
import { t } from "../i18n";
import { currentSigner } from "../sign/keyring";
import { SignerUnavailable } from "../sign/signer";
import { signatureLine } from "../ui/ackDialog";
import { errorBox, openModal, toast, type ModalHandle } from "../ui/modal";
import { canShelve, canUnshelve, MAX_SHELF_MINUTES, type Alarm, type AlarmShelf, type AlarmStore } from "./alarms";

/** The durations offered, in minutes; the server allows at most MAX_SHELF_MINUTES. */
const DURATIONS = [60, 120, 240, 480, 720].filter((m) => m <= MAX_SHELF_MINUTES);

/** Whether the alarm's tag can be shelved here: a limit alarm on a tag not shelved yet, and the role may. */
export function shelvable(a: Alarm, store: AlarmStore): boolean {
  return a.source === "LIMIT" && !!a.tag && a.state !== "CLOSED" && !store.shelfOf(a.tag) && canShelve();
}

/** "3 h 20 min" until the shelf ends. */
export function timeLeft(until: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.ceil((new Date(until).getTime() - now) / 60_000));
  const hours = Math.floor(minutes / 60);
  if (!hours) return t("shelf.leftMinutes", { m: minutes });
  return minutes % 60 ? t("shelf.leftHours", { h: hours, m: minutes % 60 }) : t("shelf.hours", { n: hours });
}

/** The mark on a shelved tag's alarms in the list: the word, not colour alone, with who, why and until when. */
export function shelfMark(x: AlarmShelf): HTMLSpanElement {
  return h("span", { class: "shelf-mark", "data-testid": "shelf-mark",
    title: t("shelf.markTitle", { by: x.shelvedBy, until: fmtTime(x.until), reason: x.reason }) },
  t("shelf.mark"));
}

/** The reason, the signature line and the buttons both dialogs use; `act` signs and sends. */
function reasonForm(m: ModalHandle, top: Node[], placeholder: string, label: string,
                    act: (reason: string) => Promise<string>): HTMLFormElement {
  const err = errorBox();
  const reason = h("textarea", { name: "reason", rows: 3, "aria-label": t("shelf.reason"), placeholder });
  const sign = h("button", { type: "submit", class: "primary" }, label);
  const form = h("form", { class: "shelve-form" }, ...top,
    h("label", { class: "field" }, h("span", null, t("shelf.reason")), reason),
    signatureLine("PERFORMED"), err.el,
    h("div", { class: "actions" }, h("button", { type: "button", onClick: () => m.close() }, t("common.cancel")), sign));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.clear();
    const text = reason.value.trim();
    if (!text) {
      err.show(t("shelf.reasonRequired"));
      reason.focus();
      return;
    }
    sign.disabled = true;
    sign.textContent = t("sign.signing");
    try {
      await currentSigner();
      const done = await act(text);
      m.close();
      toast(done);
    } catch (e) {
      err.show(e instanceof SignerUnavailable ? t("sign.cannot", { reason: e.message }) : errorText(e));
      sign.disabled = false;
      sign.textContent = label;
    }
  });
  setTimeout(() => reason.focus(), 0);
  return form;
}

/** Shelve the alarm's tag: how long (the shortest chosen first) and why, signed PERFORMED. */
export function openShelveDialog(a: Alarm, store: AlarmStore): void {
  const tag = a.tag ?? "";
  openModal(t("shelf.title", { tag }), (m) => {
    let minutes = DURATIONS[0];
    const until = h("p", { class: "muted", "data-testid": "shelf-until" });
    const showUntil = () => {
      until.textContent = t("shelf.untilPreview", { time: fmtTime(new Date(Date.now() + minutes * 60_000).toISOString()) });
    };
    const choices = h("fieldset", { class: "shelf-durations" }, h("legend", null, t("shelf.duration")),
      ...DURATIONS.map((n) => {
        const radio = h("input", { type: "radio", name: "minutes", value: n, checked: n === minutes });
        radio.addEventListener("change", () => {
          minutes = n;
          showUntil();
        });
        return h("label", null, radio, t("shelf.hours", { n: n / 60 }));
      }));
    showUntil();
    const intro = h("p", null, t("shelf.intro", { tag, max: MAX_SHELF_MINUTES / 60 }));
    const alarm = h("p", { class: "muted" }, `${a.roomCode ?? ""} ${tag} · ${a.message}`);
    m.body.append(reasonForm(m, [alarm, intro, choices, until], t("shelf.reasonPlaceholder"), t("shelf.sign"), async (reason) => {
      const x = await store.shelve(tag, minutes, reason);
      return t("shelf.done", { tag, time: fmtTime(x.until) });
    }));
  }, "shelve-dialog");
}

/** End a shelf early: why, signed PERFORMED; an excursion held back meanwhile is raised within seconds. */
export function openUnshelveDialog(x: AlarmShelf, store: AlarmStore): void {
  openModal(t("unshelf.title", { tag: x.tag }), (m) => {
    const summary = h("p", { class: "muted" },
      t("unshelf.summary", { by: x.shelvedBy, until: fmtTime(x.until), reason: x.reason }));
    const intro = h("p", null, t("unshelf.intro"));
    m.body.append(reasonForm(m, [summary, intro], t("unshelf.reasonPlaceholder"), t("unshelf.sign"), async (reason) => {
      await store.unshelve(x.tag, reason);
      return t("unshelf.done", { tag: x.tag });
    }));
  }, "shelve-dialog");
}

/** The tags shelved now: tag, reason, by whom, until when (with the zone) and time left; hidden when none. */
export function shelfList(store: AlarmStore): { el: HTMLElement; dispose(): void } {
  const body = h("tbody");
  const title = h("h3", null, "");
  const error = h("p", { class: "error-box", role: "alert", hidden: true });
  const el = h("section", { class: "shelf-panel", "data-testid": "shelf-list", "aria-label": t("shelf.listLabel") },
    title, error,
    h("table", { class: "alarm-table shelf-table" },
      h("thead", null, h("tr", null,
        h("th", null, t("shelf.col.tag")), h("th", null, t("shelf.col.reason")), h("th", null, t("shelf.col.by")),
        h("th", null, t("shelf.col.until")), h("th", null, t("shelf.col.left")), h("th", null, ""))),
      body));
  const row = (x: AlarmShelf): HTMLTableRowElement => h("tr", { "data-shelf-tag": x.tag },
    h("td", { class: "shelf-tag" }, x.tag),
    h("td", { class: "shelf-reason" }, x.reason),
    h("td", null, t("common.atBy", { time: fmtTime(x.shelvedAt).slice(11), by: x.shelvedBy })),
    h("td", { class: "num" }, fmtTime(x.until)),
    h("td", { class: "num", "data-testid": "shelf-left" }, timeLeft(x.until)),
    h("td", null, canUnshelve()
      ? h("button", { class: "small", "data-unshelve": x.tag, onClick: () => openUnshelveDialog(x, store) },
        t("shelf.unshelve"))
      : ""));
  const render = () => {
    const shelved = store.shelved();
    el.hidden = !shelved.length && !store.shelvesError;
    title.textContent = t("shelf.listTitle", { n: shelved.length });
    error.hidden = !store.shelvesError;
    error.textContent = store.shelvesError ?? "";
    body.replaceChildren(...shelved.map(row));
  };
  const off = store.onChange(render);
  // Time left counts down between the store's changes.
  const timer = window.setInterval(render, 15_000);
  render();
  return { el, dispose: () => {
    off();
    window.clearInterval(timer);
  } };
}
