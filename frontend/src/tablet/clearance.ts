/**
 * Line clearance: the operator fills the checklist and signs PERFORMED; a second person present
 * signs in on the same tablet, just to sign VERIFIED with their own key; their token is revoked
 * right after.
 */

import type { LineClearanceMutation, LineClearanceMutationVariables, OpenBatchesQuery } from "../api/generated";
import { gql } from "../api/gql";
import { h } from "../dom";
import type { PlantIndex } from "../control/plant";
import { sendSigned } from "../sign/keyring";
import { signOperation } from "../sign/signer";
import { signatureLine } from "../ui/ackDialog";
import { errorBox } from "../ui/modal";
import { choice, field } from "./common";
import { askVerifier } from "./verifier";
import { scanField } from "./scan";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

/** The checklist's items in the reader's language: the operator signs the words they read. */
export function defaultChecklist(): string[] {
  return [0, 1, 2, 3, 4, 5].map((i) => t(`clearance.item.${i}`));
}

type LineClearance = LineClearanceMutation["recordLineClearance"];

const RECORD = /* GraphQL */ `mutation LineClearance($input: RecordLineClearanceInput!, $signature: SignatureInput!, $verification: SignatureInput!) {
  recordLineClearance(input: $input, signature: $signature, verification: $verification) {
    id roomCode product processStep clearedAt passed operator reviewer
  }
}`;
const OPEN_BATCHES = /* GraphQL */ `query OpenBatches { batches(first: 20) { edges { node { batchNumber product status } } } }`;

type Result = "PASS" | "FAIL" | "NA";

export function clearanceScreen(index: PlantIndex): HTMLElement {
  const root = h("section", { class: "tablet-screen", "data-screen": "line-clearance" });
  const form = () => {
    const err = errorBox();
    const room = h("select", { name: "roomCode" }, h("option", { value: "" }, t("clearance.chooseRoom")),
      ...index.plant.rooms.map((r) => h("option", { value: r.code }, `${r.code} · ${r.name}`)));
    const batch = h("input", { name: "batchNumber", type: "text", autocomplete: "off", placeholder: t("common.scanOrType"), list: "batch-list" });
    const batchList = h("datalist", { id: "batch-list" });
    void gql<OpenBatchesQuery>(OPEN_BATCHES).then((d) => {
      batchList.replaceChildren(...d.batches.edges.map((e) => h("option", { value: e.node.batchNumber }, `${e.node.product} · ${enumLabel("BatchStatus", e.node.status)}`)));
    }).catch(() => undefined); // typing the number works without the list
    const step = h("input", { name: "processStep", type: "text", autocomplete: "off", placeholder: t("clearance.stepPlaceholder") });
    const items = defaultChecklist().map((text, i) => {
      const result = choice<Result>(t("clearance.itemN", { n: i + 1 }), [{ value: "PASS", text: t("clearance.pass") },
        { value: "FAIL", text: t("clearance.fail") }, { value: "NA", text: t("clearance.na") }]);
      const note = h("input", { type: "text", class: "item-note", placeholder: t("clearance.notePlaceholder"),
        "aria-label": t("clearance.noteFor", { n: i + 1 }) });
      const el = h("li", { class: "check-item", "data-item": i }, h("div", { class: "item-text" }, text), result.el, note);
      return { text, result, note, el };
    });
    const submit = h("button", { type: "submit", class: "primary big" }, t("clearance.submit"));
    const f = h("form", { class: "tablet-form" },
      h("h2", null, t("tablet.tab.clearance")),
      field(t("alarms.col.room"), room), field(t("common.batchNumber"), scanField(batch, () => step.focus())), batchList,
      field(t("clearance.step"), step),
      h("ol", { class: "checklist" }, ...items.map((i) => i.el)),
      signatureLine("PERFORMED"),
      h("p", { class: "muted" }, t("clearance.secondPerson")),
      err.el, submit);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      if (!room.value) return err.show(t("clearance.needRoom"));
      if (!batch.value.trim()) return err.show(t("clearance.needBatch"));
      if (!step.value.trim()) return err.show(t("clearance.needStep"));
      const open = items.findIndex((i) => !i.result.value());
      if (open >= 0) return err.show(t("clearance.needItem", { n: open + 1 }));
      const input = {
        roomCode: room.value, batchNumber: batch.value.trim(), processStep: step.value.trim(),
        checklist: items.map((i) => ({ item: i.text, result: i.result.value()!, ...(i.note.value.trim() ? { note: i.note.value.trim() } : {}) })),
      };
      askVerifier(async (verifier) => {
        const d = await sendSigned<LineClearanceMutation, LineClearanceMutationVariables>({
          operation: "recordLineClearance", document: RECORD, input,
          verification: (sent) => signOperation(verifier, "recordLineClearance", sent, "VERIFIED"),
        });
        root.replaceChildren(result(d.recordLineClearance, () => root.replaceChildren(form())));
      });
    });
    return f;
  };
  root.append(form());
  return root;
}

function result(c: LineClearance, again: () => void): HTMLElement {
  return h("div", { class: `tablet-result ${c.passed ? "ok" : "bad"}`, role: "status", "data-testid": "clearance-result" },
    h("h2", null, c.passed ? t("clearance.passed", { room: c.roomCode }) : t("clearance.failed", { room: c.roomCode })),
    h("dl", null,
      h("dt", null, t("common.product")), h("dd", null, c.product),
      h("dt", null, t("clearance.stepShort")), h("dd", null, c.processStep),
      h("dt", null, t("common.performedBy")), h("dd", null, c.operator),
      h("dt", null, t("common.verifiedBy")), h("dd", null, c.reviewer)),
    h("div", { class: "actions" }, h("button", { class: "big primary", onClick: again }, t("clearance.new"))));
}
