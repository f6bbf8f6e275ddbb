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
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

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
    root.replaceChildren(h("p", { class: "muted" }, t("worklist.loading")));
    try {
      const w = (await gql<QcWorklistQuery>(WORKLIST)).qcWorklist;
      root.replaceChildren(list(w, (target, item) => root.replaceChildren(entry(target, item, load))));
    } catch (e) {
      root.replaceChildren(h("div", { class: "error-box", role: "alert" }, refusal(e)));
    }
  };
  void load();
  return root;
}

function itemButtons(target: Target, items: Item[], pick: (target: Target, item: Item) => void): HTMLElement {
  return h("div", { class: "choices" }, ...items.map((i) => h("button", {
    type: "button", class: "choice", "data-item": i.name, onClick: () => pick(target, i),
  }, i.name)));
}

function list(w: QcWorklistQuery["qcWorklist"], pick: (target: Target, item: Item) => void): HTMLElement {
  const records = w.records.map(({ record: r, missingItems }) => {
    const target = { batchNumber: r.batchNumber, stage: r.stage, subjectCode: r.subjectCode,
      spec: `${r.specificationCode} v${r.specificationVersion}` };
    return h("article", { class: "lab-card", "data-record": r.id, "data-batch": r.batchNumber },
      h("h3", null, `${r.batchNumber} · ${enumLabel("TestStage", r.stage)} ${r.subjectCode}`),
      h("p", { class: "muted" }, t("worklist.record", { id: r.id, spec: target.spec })),
      r.results.length ? h("p", null, t("worklist.entered", { results: r.results.filter((x) => x.current)
        .map((x) => `${x.item} ${x.reported} (${enumLabel("Verdict", x.verdict)})`).join(" · ") })) : null,
      missingItems.length ? itemButtons(target, missingItems, pick) : h("p", { class: "ok-text" }, t("worklist.allEntered")));
  });
  const starts = w.startable.map((s) => {
    const target = { batchNumber: s.batchNumber, stage: s.stage, subjectCode: s.subjectCode,
      spec: `${s.specificationCode} v${s.specificationVersion}` };
    return h("article", { class: "lab-card", "data-start": `${s.batchNumber}/${s.stage}/${s.subjectCode}` },
      h("h3", null, `${s.batchNumber} · ${enumLabel("TestStage", s.stage)} ${s.subjectCode}`),
      h("p", { class: "muted" }, t("worklist.startLine", { product: s.product, status: s.batchStatus, spec: target.spec })),
      itemButtons(target, s.items, pick));
  });
  return h("div", { class: "lab-list" },
    h("h2", null, t("worklist.open")),
    ...(records.length ? records : [h("p", { class: "muted" }, t("worklist.noOpen"))]),
    h("h2", null, t("worklist.start")),
    ...(starts.length ? starts : [h("p", { class: "muted" }, t("worklist.noStart"))]));
}

function entry(target: Target, item: Item, back: () => Promise<void>): HTMLElement {
  const err = errorBox();
  const inputs = item.inputs.map((name) => ({ name, el: h("input", { name: `input-${name}`, inputmode: "decimal", autocomplete: "off", required: true }) }));
  const value = h("input", { name: "value", autocomplete: "off", required: true,
    inputmode: item.textual ? "text" : "decimal", placeholder: item.textual ? t("worklist.textualPlaceholder") : t("worklist.rawPlaceholder") });
  const submit = h("button", { type: "submit", class: "primary big" }, t("worklist.submit"));
  const cancel = h("button", { type: "button", class: "big", onClick: () => void back() }, t("worklist.back"));
  const f = h("form", { class: "tablet-form", "data-testid": "result-entry" },
    h("h2", null, `${item.name} · ${target.batchNumber}`),
    h("dl", null, h("dt", null, t("worklist.stage")), h("dd", null, `${enumLabel("TestStage", target.stage)} ${target.subjectCode}`),
      h("dt", null, t("worklist.specification")), h("dd", null, target.spec),
      h("dt", null, t("worklist.method")), h("dd", null, item.method || "—"),
      h("dt", null, t("details.col.limits")), h("dd", null, item.limits),
      item.formula ? h("dt", null, t("worklist.formula")) : null, item.formula ? h("dd", null, item.formula) : null),
    ...(item.formula
      ? inputs.map((i) => field(t("worklist.input", { name: i.name }), i.el))
      : [field(item.unit ? t("worklist.resultIn", { unit: item.unit }) : t("worklist.result"), value, t("worklist.resultHint"))]),
    signatureLine("PERFORMED"), err.el, submit, cancel);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    const input: RecordTestResultInput = { batchNumber: target.batchNumber, stage: target.stage, subjectCode: target.subjectCode,
      item: item.name };
    if (item.formula) {
      if (inputs.some((i) => !i.el.value.trim())) return err.show(t("worklist.needInputs"));
      input.inputs = inputs.map((i) => ({ name: i.name, value: i.el.value.trim() }));
    } else {
      if (!value.value.trim()) return err.show(t("worklist.needResult"));
      input.value = value.value.trim();
    }
    void busy(submit, t("sign.signing"), async () => {
      const d = await sendSigned<RecordTestResultMutation, RecordTestResultMutationVariables>({
        operation: "recordTestResult", document: RECORD, input });
      const rec = d.recordTestResult;
      const line = rec.results.find((r) => r.current && r.item.toLowerCase() === item.name.toLowerCase());
      f.replaceWith(h("div", { class: `tablet-result ${line?.verdict === "PASS" ? "ok" : "bad"}`, role: "status",
        "data-testid": "result-card" },
        h("h2", null, `${item.name}: ${line?.reported ?? "?"} · ${line ? enumLabel("Verdict", line.verdict) : "?"}`),
        h("p", null, t("worklist.recorded", { id: rec.id, spec: `${rec.specificationCode} v${rec.specificationVersion}`,
          reason: line?.reason ?? "" })),
        linesTable(rec.results),
        h("div", { class: "actions" }, h("button", { type: "button", class: "big primary", onClick: () => void back() },
          t("worklist.next")))));
    }, (e) => err.show(refusal(e)));
  });
  setTimeout(() => (item.formula ? inputs[0]?.el : value)?.focus(), 0);
  return f;
}
