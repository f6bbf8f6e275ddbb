/**
 * The QC analyst's worklist on a tablet: the open test records with the items left to enter, and the
 * batches whose tests can start. One item at a time: the raw value (or a formula's inputs) is signed
 * PERFORMED; the reported value and the verdict shown are the server's, never typed.
 */

import type {
  QcWorklistQuery, RecordTestResultInput, RecordTestResultMutation, RecordTestResultMutationVariables, TestStage,
} from "../api/generated";
import { gql } from "../api/gql";
import { h } from "../dom";
import { sendSigned } from "../sign/keyring";
import { busy, field, refusal } from "../tablet/common";
import { signatureLine } from "../ui/ackDialog";
import { errorBox } from "../ui/modal";
import { linesTable } from "./lines";

const WORKLIST = /* GraphQL */ `query QcWorklist {
  qcWorklist {
    records {
      record { id batchNumber stage subjectCode specificationCode specificationVersion
        results { id item raw reported verdict analyst current } }
      missingItems { name method unit limits textual formula inputs }
    }
    startable { batchNumber product batchStatus stage subjectCode specificationCode specificationVersion
      items { name method unit limits textual formula inputs } }
  }
}`;
const RECORD = /* GraphQL */ `mutation RecordTestResult($input: RecordTestResultInput!, $signature: SignatureInput!) {
  recordTestResult(input: $input, signature: $signature) {
    id batchNumber stage subjectCode specificationCode specificationVersion
    results { id item raw inputs { name value } formula reported verdict reason rounding analyst enteredAt current
      replacesId correctionReason }
  }
}`;

type Item = QcWorklistQuery["qcWorklist"]["records"][number]["missingItems"][number];
interface Target { batchNumber: string; stage: TestStage; subjectCode: string; spec: string }

export function worklistScreen(): HTMLElement {
  const root = h("section", { class: "tablet-screen lab", "data-screen": "worklist" });
  const load = async (): Promise<void> => {
    root.replaceChildren(h("p", { class: "muted" }, "Loading the worklist…"));
    try {
      const w = (await gql<QcWorklistQuery>(WORKLIST)).qcWorklist;
      root.replaceChildren(list(w, (t, item) => root.replaceChildren(entry(t, item, load))));
    } catch (e) {
      root.replaceChildren(h("div", { class: "error-box", role: "alert" }, refusal(e)));
    }
  };
  void load();
  return root;
}

function itemButtons(t: Target, items: Item[], pick: (t: Target, item: Item) => void): HTMLElement {
  return h("div", { class: "choices" }, ...items.map((i) => h("button", {
    type: "button", class: "choice", "data-item": i.name, onClick: () => pick(t, i),
  }, i.name)));
}

function list(w: QcWorklistQuery["qcWorklist"], pick: (t: Target, item: Item) => void): HTMLElement {
  const records = w.records.map(({ record: r, missingItems }) => {
    const t = { batchNumber: r.batchNumber, stage: r.stage, subjectCode: r.subjectCode,
      spec: `${r.specificationCode} v${r.specificationVersion}` };
    return h("article", { class: "lab-card", "data-record": r.id, "data-batch": r.batchNumber },
      h("h3", null, `${r.batchNumber} · ${r.stage} ${r.subjectCode}`),
      h("p", { class: "muted" }, `Test record ${r.id} · specification ${t.spec}`),
      r.results.length ? h("p", null, `Entered: ${r.results.filter((x) => x.current)
        .map((x) => `${x.item} ${x.reported} (${x.verdict})`).join(" · ")}`) : null,
      missingItems.length ? itemButtons(t, missingItems, pick) : h("p", { class: "ok-text" }, "Every item entered: waiting for review."));
  });
  const starts = w.startable.map((s) => {
    const t = { batchNumber: s.batchNumber, stage: s.stage, subjectCode: s.subjectCode,
      spec: `${s.specificationCode} v${s.specificationVersion}` };
    return h("article", { class: "lab-card", "data-start": `${s.batchNumber}/${s.stage}/${s.subjectCode}` },
      h("h3", null, `${s.batchNumber} · ${s.stage} ${s.subjectCode}`),
      h("p", { class: "muted" }, `${s.product} · batch ${s.batchStatus.toLowerCase().replace("_", " ")} · specification ${t.spec}`),
      itemButtons(t, s.items, pick));
  });
  return h("div", { class: "lab-list" },
    h("h2", null, "Open test records"),
    ...(records.length ? records : [h("p", { class: "muted" }, "No open test record.")]),
    h("h2", null, "Start a test record"),
    ...(starts.length ? starts : [h("p", { class: "muted" }, "No batch waits for a first result.")]));
}

function entry(t: Target, item: Item, back: () => Promise<void>): HTMLElement {
  const err = errorBox();
  const inputs = item.inputs.map((name) => ({ name, el: h("input", { name: `input-${name}`, inputmode: "decimal", autocomplete: "off", required: true }) }));
  const value = h("input", { name: "value", autocomplete: "off", required: true,
    inputmode: item.textual ? "text" : "decimal", placeholder: item.textual ? "e.g. Negative" : "raw value, as read" });
  const submit = h("button", { type: "submit", class: "primary big" }, "Sign and record the result (PERFORMED)");
  const cancel = h("button", { type: "button", class: "big", onClick: () => void back() }, "Back to the worklist");
  const f = h("form", { class: "tablet-form", "data-testid": "result-entry" },
    h("h2", null, `${item.name} · ${t.batchNumber}`),
    h("dl", null, h("dt", null, "Stage"), h("dd", null, `${t.stage} ${t.subjectCode}`),
      h("dt", null, "Specification"), h("dd", null, t.spec),
      h("dt", null, "Method"), h("dd", null, item.method || "—"),
      h("dt", null, "Limits"), h("dd", null, item.limits),
      item.formula ? h("dt", null, "Formula") : null, item.formula ? h("dd", null, item.formula) : null),
    ...(item.formula
      ? inputs.map((i) => field(`Input ${i.name}`, i.el))
      : [field(`Result${item.unit ? ` (${item.unit})` : ""}`, value, "The server rounds it and judges it")]),
    signatureLine("PERFORMED"), err.el, submit, cancel);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    const input: RecordTestResultInput = { batchNumber: t.batchNumber, stage: t.stage, subjectCode: t.subjectCode,
      item: item.name };
    if (item.formula) {
      if (inputs.some((i) => !i.el.value.trim())) return err.show("Enter every input of the formula.");
      input.inputs = inputs.map((i) => ({ name: i.name, value: i.el.value.trim() }));
    } else {
      if (!value.value.trim()) return err.show("Enter the result.");
      input.value = value.value.trim();
    }
    void busy(submit, "Signing…", async () => {
      const d = await sendSigned<RecordTestResultMutation, RecordTestResultMutationVariables>({
        operation: "recordTestResult", document: RECORD, input });
      const rec = d.recordTestResult;
      const line = rec.results.find((r) => r.current && r.item.toLowerCase() === item.name.toLowerCase());
      f.replaceWith(h("div", { class: `tablet-result ${line?.verdict === "PASS" ? "ok" : "bad"}`, role: "status",
        "data-testid": "result-card" },
        h("h2", null, `${item.name}: ${line?.reported ?? "?"} · ${line?.verdict ?? "?"}`),
        h("p", null, `Recorded in test record ${rec.id} (${rec.specificationCode} v${rec.specificationVersion}); ` +
          `${line?.reason ?? ""}`),
        linesTable(rec.results),
        h("div", { class: "actions" }, h("button", { type: "button", class: "big primary", onClick: () => void back() },
          "Next item"))));
    }, (e) => err.show(refusal(e)));
  });
  setTimeout(() => (item.formula ? inputs[0]?.el : value)?.focus(), 0);
  return f;
}
