/** Sampling: scan the unit or batch, choose the kind, sign; then print or show the label. */

import type { RecordSampleInput, RecordSampleMutation, RecordSampleMutationVariables } from "../api/generated";
import { fmtTime, h } from "../dom";
import { sendSigned } from "../sign/keyring";
import { signatureLine } from "../ui/ackDialog";
import { errorBox } from "../ui/modal";
import { busy, choice, field, refusal, svgImage } from "./common";
import { labelLinesTable } from "./labelLines";
import { scanField } from "./scan";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

const KINDS = ["RETEST", "RETAINED", "IPC", "RELEASE", "ENVIRONMENT", "WATER"] as const;
type Kind = (typeof KINDS)[number];

type SampleRecord = RecordSampleMutation["recordSample"];

const RECORD = /* GraphQL */ `mutation RecordSample($input: RecordSampleInput!, $signature: SignatureInput!) {
  recordSample(input: $input, signature: $signature) {
    code kind sourceCode takenAt takenBy storageLocation label { lines { key label value } code128Svg qrSvg }
  }
}`;

export function samplingScreen(): HTMLElement {
  const root = h("section", { class: "tablet-screen", "data-screen": "sampling" });
  const form = () => {
    const err = errorBox();
    const source = h("input", { name: "sourceCode", type: "text", autocomplete: "off", spellcheck: "false", required: true,
      placeholder: t("common.scanOrType"), enterkeyhint: "next" });
    const kind = choice<Kind>(t("sample.kindLabel"), KINDS.map((k) => ({ value: k, text: enumLabel("SampleKind", k) })));
    const location = h("input", { name: "storageLocation", type: "text", autocomplete: "off", placeholder: t("sample.locationPlaceholder") });
    const from = h("input", { name: "sampledFrom", type: "text", autocomplete: "off", placeholder: t("sample.fromPlaceholder") });
    const quantity = h("input", { name: "quantity", type: "number", inputmode: "decimal", min: "0", step: "any" });
    const unit = h("input", { name: "unit", type: "text", autocomplete: "off", placeholder: "mL" });
    // QC-16: a plasma sample's tube is scanned against the bag, and the bag is checked intact.
    const tube = h("input", { name: "tubeCode", type: "text", autocomplete: "off", spellcheck: "false",
      placeholder: t("sample.tubePlaceholder") });
    const bag = choice<"yes" | "no">(t("sample.bagIntact"), [{ value: "yes", text: t("sample.intact") }, { value: "no", text: t("sample.damaged") }]);
    const note = h("textarea", { name: "note", rows: 2 });
    const submit = h("button", { type: "submit", class: "primary big" }, t("sample.submit"));
    const f = h("form", { class: "tablet-form" },
      h("h2", null, t("sample.title")),
      field(t("sample.source"), scanField(source, () => (kind.value() ? location.focus()
        : kind.el.querySelector("button")?.focus())), t("sample.sourceHint")),
      h("div", { class: "field" }, h("span", null, t("sample.kindShort")), kind.el),
      field(t("sample.from"), from, t("sample.fromHint")),
      field(t("common.quantity"), quantity), field(t("common.unit"), unit),
      field(t("sample.tube"), scanField(tube, () => location.focus()), t("sample.tubeHint")),
      h("div", { class: "field" }, h("span", null, t("sample.bag")), bag.el),
      field(t("sample.location"), location),
      field(t("common.note"), note),
      signatureLine("PERFORMED"), err.el, submit);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      const k = kind.value();
      if (!source.value.trim()) return err.show(t("sample.needSource"));
      if (!k) return err.show(t("sample.needKind"));
      const input: RecordSampleInput = { sourceCode: source.value.trim(), kind: k };
      if (location.value.trim()) input.storageLocation = location.value.trim();
      if (from.value.trim()) input.sampledFrom = from.value.trim();
      if (quantity.value.trim()) input.quantity = Number(quantity.value);
      if (unit.value.trim()) input.unit = unit.value.trim();
      if (tube.value.trim()) input.tubeCode = tube.value.trim();
      const b = bag.value();
      if (b) input.bagIntact = b === "yes";
      if (note.value.trim()) input.note = note.value.trim();
      void busy(submit, t("sign.signing"), async () => {
        const d = await sendSigned<RecordSampleMutation, RecordSampleMutationVariables>({
          operation: "recordSample", document: RECORD, input });
        root.replaceChildren(labelCard(d.recordSample, () => root.replaceChildren(form())));
      }, (e) => err.show(refusal(e)));
    });
    setTimeout(() => source.focus(), 0);
    return f;
  };
  root.append(form());
  return root;
}

function labelCard(r: SampleRecord, again: () => void): HTMLElement {
  const label = h("div", { class: "label-card printable", "data-testid": "sample-label", "data-code": r.code },
    h("div", { class: "label-code" }, r.code),
    labelLinesTable(r.label.lines),
    h("div", { class: "label-codes" },
      svgImage(r.label.code128Svg, t("sample.code128", { code: r.code }), "barcode"),
      svgImage(r.label.qrSvg, t("sample.qr", { code: r.code }), "qr")));
  return h("div", { class: "tablet-result ok", role: "status" },
    h("h2", null, t("sample.recorded", { code: r.code })),
    h("p", null, t("sample.summary", { kind: enumLabel("SampleKind", r.kind), source: r.sourceCode, time: fmtTime(r.takenAt), by: r.takenBy }) +
      (r.storageLocation ? t("sample.storedAt", { location: r.storageLocation }) : "")),
    label,
    h("div", { class: "actions" },
      h("button", { class: "big", onClick: () => printLabel() }, t("sample.print")),
      h("button", { class: "big primary", onClick: again }, t("sample.next"))));
}

function printLabel(): void {
  document.body.classList.add("print-label");
  const done = () => {
    document.body.classList.remove("print-label");
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}
