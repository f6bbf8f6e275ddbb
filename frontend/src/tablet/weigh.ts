/**
 * Weighing one material of a phase (B.4): scan the lot, choose the scale, read the live gross from
 * the scale's weight tag, enter the tare; the net and its tolerance are shown as the weight settles.
 * The server reads the scale itself (at most 30 s old) and checks lot, scale and tolerance again;
 * a second person present verifies with their own signature.
 */

import type { PhaseTagsSubscription, PhaseTagsSubscriptionVariables, UploadEvidenceMutation,
  UploadEvidenceMutationVariables, WeighMaterialInput, WeighMutation, WeighMutationVariables } from "../api/generated";
import { gql } from "../api/gql";
import { live } from "../api/live";
import { fmtNumber, h } from "../dom";
import type { PlantIndex, Sensor } from "../control/plant";
import { sendSigned } from "../sign/keyring";
import { signOperation, toBase64 } from "../sign/signer";
import { signatureLine } from "../ui/ackDialog";
import { errorBox, openModal, toast } from "../ui/modal";
import { choice, field } from "./common";
import { scanField, typedWatch } from "./scan";
import { askVerifier } from "./verifier";

export const TAGS = /* GraphQL */ `subscription PhaseTags($tags: [String!]) {
  sensorUpdates(tags: $tags) { tag value quality sourceTime }
}`;
const WEIGH = /* GraphQL */ `mutation Weigh($input: WeighMaterialInput!, $signature: SignatureInput!, $verification: SignatureInput!) {
  weighMaterial(input: $input, signature: $signature, verification: $verification) {
    materialCode net unit labelCode weighedBy verifiedBy
  }
}`;
const UPLOAD = /* GraphQL */ `mutation UploadEvidence($input: UploadAttachmentInput!) {
  uploadAttachment(input: $input) { id }
}`;
const SCALE_KINDS = ["scale", "balance"];
const PHOTO_TYPES = ["image/jpeg", "image/png", "application/pdf"];

/** Uploads a photo or printout a value was read from (PR-03); its id goes into the signed input. */
export async function uploadPhoto(file: File, purpose: string): Promise<string> {
  const data = toBase64(new Uint8Array(await file.arrayBuffer()));
  const up = await gql<UploadEvidenceMutation, UploadEvidenceMutationVariables>(UPLOAD, { input: {
    filename: file.name, contentType: file.type, data, purpose } });
  return up.uploadAttachment.id;
}

export interface Need {
  batchNumber: string;
  phaseCode: string;
  code: string;
  name: string;
  quantity: number;
  unit: string;
  tolerancePct: number;
}

/** The scale's weight tag: the sensor of kind weight on the equipment. */
function weightTag(index: PlantIndex, scaleCode: string): Sensor | undefined {
  return index.sensorsOf(scaleCode).find((sn) => sn.kind === "weight");
}

export function openWeighing(index: PlantIndex, need: Need, done: () => void): void {
  const low = need.quantity * (1 - need.tolerancePct / 100);
  const high = need.quantity * (1 + need.tolerancePct / 100);
  const scales = [...index.equipment.values()].filter((e) => SCALE_KINDS.includes(e.kind) && weightTag(index, e.code));
  let stopLive: (() => void) | null = null;
  openModal(`Weigh ${need.name}`, (m) => {
    const err = errorBox();
    const lot = h("input", { name: "lotCode", type: "text", autocomplete: "off", placeholder: "Scan the lot label" });
    const typed = typedWatch(lot);
    const tare = h("input", { name: "tare", type: "text", inputmode: "decimal", autocomplete: "off", placeholder: "0" });
    const gross = h("output", { class: "scale-gross", "data-testid": "scale-gross" }, "—");
    const net = h("output", { class: "scale-net", "data-testid": "scale-net" }, "—");
    let reading: number | null = null;
    const show = () => {
      gross.textContent = reading === null ? "—" : `${fmtNumber(reading)} ${need.unit}`;
      const t = Number(tare.value.replace(",", ".") || "0");
      if (reading === null || !Number.isFinite(t)) {
        net.textContent = "—";
        net.className = "scale-net";
        return;
      }
      const n = reading - t;
      const ok = n >= low && n <= high;
      net.textContent = `${fmtNumber(n)} ${need.unit} ${ok ? "✓ within tolerance" : "✗ outside tolerance"}`;
      net.className = `scale-net ${ok ? "ok" : "bad"}`;
    };
    tare.addEventListener("input", show);
    const scale = choice("Scale", scales.map((e) => ({ value: e.code, text: `${e.code} · ${e.name}` })), null, (code) => {
      stopLive?.();
      reading = weightTag(index, code)?.value ?? null;
      show();
      const tag = weightTag(index, code)!.tag;
      stopLive = live.subscribe<PhaseTagsSubscription, PhaseTagsSubscriptionVariables>(TAGS, { tags: [tag] }, (d) => {
        reading = d.sensorUpdates.quality === "BAD" ? null : d.sensorUpdates.value;
        show();
      }, (msg) => err.show(`Live weight refused: ${msg}`));
    });
    // PR-17: only a scale that gives no weight is read by a person, with the reason and a photo of its display.
    const manualGross = h("input", { name: "manualGross", type: "text", inputmode: "decimal", autocomplete: "off" });
    const reason = h("textarea", { name: "manualReason", rows: "2", placeholder: "Why the scale gives no weight" });
    const photo = h("input", { name: "photo", type: "file", accept: PHOTO_TYPES.join(","), capture: "environment" });
    const byHand = h("div", { class: "by-hand", hidden: true },
      field(`Gross read from the display (${need.unit})`, manualGross), field("Reason", reason),
      field("Photo of the display", photo, "JPEG, PNG or PDF, at most 10 MiB"));
    const handToggle = h("button", { type: "button", class: "small", "data-testid": "by-hand" },
      "The scale gives no weight: read it by hand");
    handToggle.addEventListener("click", () => {
      byHand.hidden = !byHand.hidden;
      handToggle.textContent = byHand.hidden ? "The scale gives no weight: read it by hand" : "Take the weight from the scale";
    });
    const submit = h("button", { type: "submit", class: "primary big" }, "Sign, then have it verified");
    const f = h("form", { class: "tablet-form", "data-testid": "weigh-form" },
      h("p", null, `Target ${fmtNumber(need.quantity)} ${need.unit} ± ${need.tolerancePct} % `,
        h("span", { class: "muted" }, `(${fmtNumber(low)} … ${fmtNumber(high)} ${need.unit})`)),
      field("Lot code", scanField(lot, () => tare.focus()), "Scan the label on the container"),
      h("div", { class: "field" }, h("span", null, "Scale"), scales.length ? scale.el
        : h("p", { class: "error" }, "No scale with a live weight in this plant.")),
      h("dl", { class: "live-values" }, h("dt", null, "Gross (live)"), h("dd", null, gross),
        h("dt", null, "Net"), h("dd", null, net)),
      field(`Tare (${need.unit})`, tare, "The container's tare from its label or a tare weighing"),
      handToggle, byHand,
      signatureLine("PERFORMED"),
      h("p", { class: "muted" }, "The server reads the scale itself when you sign; a second person present verifies."),
      err.el,
      h("div", { class: "actions" }, h("button", { type: "button", class: "big", onClick: () => m.close() }, "Cancel"), submit));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      const t = Number(tare.value.replace(",", ".") || "0");
      if (!lot.value.trim()) return err.show("Scan the lot's label.");
      if (!scale.value()) return err.show("Choose the scale.");
      if (!Number.isFinite(t) || t < 0) return err.show("Enter the tare as a number, 0 or more.");
      const input: WeighMaterialInput = { batchNumber: need.batchNumber, phaseCode: need.phaseCode,
        lotCode: lot.value.trim(), scanned: !typed(), scaleCode: scale.value()!, tare: t };
      const file = photo.files?.[0];
      if (!byHand.hidden) {
        const g = Number(manualGross.value.replace(",", "."));
        if (!manualGross.value.trim() || !Number.isFinite(g)) return err.show("Enter the gross weight read from the display.");
        if (!reason.value.trim()) return err.show("Say why the scale gives no weight.");
        if (!file) return err.show("Take a photo of the scale's display.");
        if (!PHOTO_TYPES.includes(file.type)) return err.show("The photo must be JPEG, PNG or PDF.");
        Object.assign(input, { gross: g, reason: reason.value.trim(), evidence: "photo of the scale's display" });
      }
      askVerifier(async (verifier) => {
        if (!byHand.hidden && file && !input.attachmentId) {
          input.attachmentId = await uploadPhoto(file, `weight of ${need.code} read by hand`);
        }
        const d = await sendSigned<WeighMutation, WeighMutationVariables>({
          operation: "weighMaterial", document: WEIGH, input,
          verification: (sent) => signOperation(verifier, "weighMaterial", sent, "VERIFIED"),
        });
        const w = d.weighMaterial;
        toast(`${need.name}: ${fmtNumber(w.net)} ${w.unit} weighed, label ${w.labelCode}`);
        m.close();
        done();
      }, "this weighing");
    });
    m.body.append(f);
    setTimeout(() => lot.focus(), 0);
  }, "tablet-modal", () => {
    stopLive?.();
    stopLive = null;
  });
}
