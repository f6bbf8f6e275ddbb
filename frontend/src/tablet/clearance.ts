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

export const DEFAULT_CHECKLIST = [
  "Materials, intermediates and labels of the previous batch removed",
  "Documents and records of the previous batch removed",
  "Equipment cleaned and its cleaning status label valid",
  "Room, surfaces and floor clean; no residues",
  "Waste removed from the room",
  "Materials for this batch checked against the batch record",
];

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
    const room = h("select", { name: "roomCode" }, h("option", { value: "" }, "Choose the room"),
      ...index.plant.rooms.map((r) => h("option", { value: r.code }, `${r.code} · ${r.name}`)));
    const batch = h("input", { name: "batchNumber", type: "text", autocomplete: "off", placeholder: "Scan or type", list: "batch-list" });
    const batchList = h("datalist", { id: "batch-list" });
    void gql<OpenBatchesQuery>(OPEN_BATCHES).then((d) => {
      batchList.replaceChildren(...d.batches.edges.map((e) => h("option", { value: e.node.batchNumber }, `${e.node.product} · ${e.node.status}`)));
    }).catch(() => undefined); // typing the number works without the list
    const step = h("input", { name: "processStep", type: "text", autocomplete: "off", placeholder: "e.g. Filling" });
    const items = DEFAULT_CHECKLIST.map((text, i) => {
      const result = choice<Result>(`Item ${i + 1}`, [{ value: "PASS", text: "Pass" }, { value: "FAIL", text: "Fail" }, { value: "NA", text: "N/A" }]);
      const note = h("input", { type: "text", class: "item-note", placeholder: "Note (optional)", "aria-label": `Note for item ${i + 1}` });
      const el = h("li", { class: "check-item", "data-item": i }, h("div", { class: "item-text" }, text), result.el, note);
      return { text, result, note, el };
    });
    const submit = h("button", { type: "submit", class: "primary big" }, "Sign, then have it verified");
    const f = h("form", { class: "tablet-form" },
      h("h2", null, "Line clearance"),
      field("Room", room), field("Batch number", scanField(batch, () => step.focus())), batchList,
      field("Process step", step),
      h("ol", { class: "checklist" }, ...items.map((i) => i.el)),
      signatureLine("PERFORMED"),
      h("p", { class: "muted" }, "A second person present (production supervisor or QA) verifies with their own signature."),
      err.el, submit);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      if (!room.value) return err.show("Choose the room.");
      if (!batch.value.trim()) return err.show("Scan or type the batch number.");
      if (!step.value.trim()) return err.show("Name the process step that was cleared.");
      const open = items.findIndex((i) => !i.result.value());
      if (open >= 0) return err.show(`Answer item ${open + 1}: pass, fail or not applicable.`);
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
    h("h2", null, c.passed ? `✓ Line clearance of ${c.roomCode} passed` : `✗ Line clearance of ${c.roomCode} FAILED`),
    h("dl", null,
      h("dt", null, "Product"), h("dd", null, c.product),
      h("dt", null, "Step"), h("dd", null, c.processStep),
      h("dt", null, "Performed by"), h("dd", null, c.operator),
      h("dt", null, "Verified by"), h("dd", null, c.reviewer)),
    h("div", { class: "actions" }, h("button", { class: "big primary", onClick: again }, "New clearance")));
}
