/** Sampling: scan the unit or batch, choose the kind, sign; then print or show the label. */

import type { RecordSampleInput, RecordSampleMutation, RecordSampleMutationVariables } from "../api/generated";
import { fmtTime, h } from "../dom";
import { sendSigned } from "../sign/keyring";
import { signatureLine } from "../ui/ackDialog";
import { errorBox } from "../ui/modal";
import { busy, choice, field, refusal, svgImage } from "./common";
import { scanField } from "./scan";

const KINDS = [
  { value: "RETEST", text: "Retest" }, { value: "RETAINED", text: "Retained" }, { value: "IPC", text: "In-process" },
  { value: "RELEASE", text: "Release" }, { value: "ENVIRONMENT", text: "Environment" }, { value: "WATER", text: "Water" },
] as const;
type Kind = (typeof KINDS)[number]["value"];

type SampleRecord = RecordSampleMutation["recordSample"];

const RECORD = /* GraphQL */ `mutation RecordSample($input: RecordSampleInput!, $signature: SignatureInput!) {
  recordSample(input: $input, signature: $signature) {
    code kind sourceCode takenAt takenBy storageLocation label { lines { label value } code128Svg qrSvg }
  }
}`;

export function samplingScreen(): HTMLElement {
  const root = h("section", { class: "tablet-screen", "data-screen": "sampling" });
  const form = () => {
    const err = errorBox();
    const source = h("input", { name: "sourceCode", type: "text", autocomplete: "off", spellcheck: "false", required: true,
      placeholder: "Scan or type", enterkeyhint: "next" });
    const kind = choice<Kind>("Sample kind", KINDS.map((k) => ({ value: k.value, text: k.text })));
    const location = h("input", { name: "storageLocation", type: "text", autocomplete: "off", placeholder: "e.g. QC fridge F2, shelf 3" });
    const from = h("input", { name: "sampledFrom", type: "text", autocomplete: "off", placeholder: "e.g. Final bulk, tank T-3" });
    const quantity = h("input", { name: "quantity", type: "number", inputmode: "decimal", min: "0", step: "any" });
    const unit = h("input", { name: "unit", type: "text", autocomplete: "off", placeholder: "mL" });
    // QC-16: a plasma sample's tube is scanned against the bag, and the bag is checked intact.
    const tube = h("input", { name: "tubeCode", type: "text", autocomplete: "off", spellcheck: "false",
      placeholder: "Plasma only: scan the specimen tube" });
    const bag = choice<"yes" | "no">("Bag intact", [{ value: "yes", text: "Intact" }, { value: "no", text: "Damaged" }]);
    const note = h("textarea", { name: "note", rows: 2 });
    const submit = h("button", { type: "submit", class: "primary big" }, "Sign and record sample");
    const f = h("form", { class: "tablet-form" },
      h("h2", null, "Record a sample"),
      field("Unit, material or batch code", scanField(source, () => (kind.value() ? location.focus()
        : kind.el.querySelector("button")?.focus())), "donation number, material code or batch number"),
      h("div", { class: "field" }, h("span", null, "Kind"), kind.el),
      field("Taken at (step or location)", from, "required for lot-release samples"),
      field("Quantity", quantity), field("Unit", unit),
      field("Specimen tube", scanField(tube, () => location.focus()), "plasma units: must match the bag"),
      h("div", { class: "field" }, h("span", null, "Plasma bag"), bag.el),
      field("Storage location", location),
      field("Note", note),
      signatureLine("PERFORMED"), err.el, submit);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      const k = kind.value();
      if (!source.value.trim()) return err.show("Scan or type the code of the unit or batch sampled.");
      if (!k) return err.show("Choose the kind of sample.");
      const input: RecordSampleInput = { sourceCode: source.value.trim(), kind: k };
      if (location.value.trim()) input.storageLocation = location.value.trim();
      if (from.value.trim()) input.sampledFrom = from.value.trim();
      if (quantity.value.trim()) input.quantity = Number(quantity.value);
      if (unit.value.trim()) input.unit = unit.value.trim();
      if (tube.value.trim()) input.tubeCode = tube.value.trim();
      const b = bag.value();
      if (b) input.bagIntact = b === "yes";
      if (note.value.trim()) input.note = note.value.trim();
      void busy(submit, "Signing…", async () => {
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
    h("table", { class: "label-lines" }, h("tbody", null,
      ...r.label.lines.map((l) => h("tr", null, h("th", null, l.label), h("td", null, l.value))))),
    h("div", { class: "label-codes" },
      svgImage(r.label.code128Svg, `Code 128 of ${r.code}`, "barcode"),
      svgImage(r.label.qrSvg, `QR code of ${r.code}`, "qr")));
  return h("div", { class: "tablet-result ok", role: "status" },
    h("h2", null, `Sample ${r.code} recorded`),
    h("p", null, `${r.kind} sample of ${r.sourceCode}, taken ${fmtTime(r.takenAt)} by ${r.takenBy}` +
      (r.storageLocation ? `, stored at ${r.storageLocation}` : "")),
    label,
    h("div", { class: "actions" },
      h("button", { class: "big", onClick: () => printLabel() }, "Print label"),
      h("button", { class: "big primary", onClick: again }, "Next sample")));
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
