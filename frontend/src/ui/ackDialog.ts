/** Acknowledge an alarm: the handling method is required, the acknowledgement is signed. */

import { errorText } from "../api/gql";
import { session } from "../api/session";
import { fmtTime, h } from "../dom";
import type { Alarm, AlarmStore } from "../control/alarms";
import { currentSigner } from "../sign/keyring";
import { SignerUnavailable } from "../sign/signer";
import { alarmBadge } from "./symbols";
import { errorBox, openModal, toast } from "./modal";
import { has, t } from "../i18n";

export function signatureLine(meaning: string): HTMLParagraphElement {
  const v = session.viewer;
  return h("p", { class: "sig-manifest" },
    t("sign.manifest.before"), h("strong", null, v ? `${v.displayName} (${v.username})` : "—"),
    t("sign.manifest.meaning"), h("strong", null, has(`meaning.${meaning}`) ? t(`meaning.${meaning}`) : meaning),
    t("sign.manifest.after"));
}

/** The acknowledgement form both dialogs use: what is acknowledged, the handling method, one ACKNOWLEDGED signature. */
function ackForm(m: { close(): void; body: HTMLElement }, summary: HTMLElement, label: string,
                 act: (handling: string) => Promise<void>, done: string): void {
  const err = errorBox();
  const handling = h("textarea", {
    name: "handling", rows: 3, placeholder: t("ack.handlingPlaceholder"),
    "aria-label": t("ack.handling"),
  });
  const sign = h("button", { type: "submit", class: "primary" }, label);
  const cancel = h("button", { type: "button", onClick: () => m.close() }, t("common.cancel"));
  const form = h("form", { class: "ack-form" },
    summary,
    h("label", { class: "field" }, h("span", null, t("ack.handling")), handling),
    signatureLine("ACKNOWLEDGED"),
    err.el,
    h("div", { class: "actions" }, cancel, sign));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.clear();
    const text = handling.value.trim();
    if (!text) {
      err.show(t("ack.handlingRequired"));
      handling.focus();
      return;
    }
    sign.disabled = true;
    sign.textContent = t("sign.signing");
    try {
      await currentSigner();
      await act(text);
      m.close();
      toast(done);
    } catch (e) {
      err.show(e instanceof SignerUnavailable ? t("sign.cannot", { reason: e.message }) : errorText(e));
      sign.disabled = false;
      sign.textContent = label;
    }
  });
  m.body.append(form);
  setTimeout(() => handling.focus(), 0);
}

export function openAckDialog(alarm: Alarm, store: AlarmStore): void {
  openModal(t("ack.title", { id: alarm.id }), (m) => {
    const summary = h("div", { class: "ack-summary" }, alarmBadge(alarm, 26),
      h("div", null,
        h("div", { class: "ack-msg" }, alarm.message),
        h("div", { class: "muted" }, t("ack.summary", { priority: t(`priority.${alarm.priority}`), state: t(`alarm.state.${alarm.state}`), room: alarm.roomCode ?? "",
          source: alarm.tag ?? alarm.equipmentCode ?? alarm.cameraCode ?? "", time: fmtTime(alarm.raisedAt) }))));
    ackForm(m, summary, t("ack.sign"), async (text) => {
      await store.acknowledge(alarm.id, text);
    }, t("ack.done", { id: alarm.id }));
  }, "ack-dialog");
}

/** Acknowledge several unacknowledged alarms with one handling method and one signature (all or none). */
export function openGroupAckDialog(alarms: Alarm[], store: AlarmStore): void {
  const chosen = alarms.slice(0, 100);
  openModal(t("ack.groupTitle", { n: chosen.length }), (m) => {
    const list = h("ul", { class: "ack-group", "data-testid": "ack-group" }, ...chosen.map((a) =>
      h("li", null, alarmBadge(a, 16), ` #${a.id} ${fmtTime(a.raisedAt).slice(11)} ${a.roomCode ?? ""} ${a.message}`)));
    ackForm(m, list, t("ack.groupSign", { n: chosen.length }), async (text) => {
      await store.acknowledgeMany(chosen.map((a) => a.id), text);
    }, t("ack.groupDone", { n: chosen.length }));
  }, "ack-dialog");
}
