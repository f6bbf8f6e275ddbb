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
import { t } from "../i18n";

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
  openModal(t("weigh.title", { name: need.name }), (m) => {
    const err = errorBox();
    const lot = h("input", { name: "lotCode", type: "text", autocomplete: "off", placeholder: t("weigh.scanLot") });
    const typed = typedWatch(lot);
    const tare = h("input", { name: "tare", type: "text", inputmode: "decimal", autocomplete: "off", placeholder: "0" });
    const gross = h("output", { class: "scale-gross", "data-testid": "scale-gross" }, "—");
    const net = h("output", { class: "scale-net", "data-testid": "scale-net" }, "—");
    let reading: number | null = null;
    const show = () => {
      gross.textContent = reading === null ? "—" : `${fmtNumber(reading)} ${need.unit}`;
      const tareValue = Number(tare.value.replace(",", ".") || "0");
      if (reading === null || !Number.isFinite(tareValue)) {
        net.textContent = "—";
        net.className = "scale-net";
        return;
      }
      const n = reading - tareValue;
      const ok = n >= low && n <= high;
      net.textContent = `${fmtNumber(n)} ${need.unit} ${ok ? t("weigh.within") : t("weigh.outside")}`;
      net.className = `scale-net ${ok ? "ok" : "bad"}`;
    };
    tare.addEventListener("input", show);
    const scale = choice(t("weigh.scale"), scales.map((e) => ({ value: e.code, text: `${e.code} · ${e.name}` })), null, (code) => {
      stopLive?.();
      reading = weightTag(index, code)?.value ?? null;
      show();
      const tag = weightTag(index, code)!.tag;
      stopLive = live.subscribe<PhaseTagsSubscription, PhaseTagsSubscriptionVariables>(TAGS, { tags: [tag] }, (d) => {
        reading = d.sensorUpdates.quality === "BAD" ? null : d.sensorUpdates.value;
        show();
      }, (msg) => err.show(t("weigh.liveRefused", { error: msg })));
    });
    // PR-17: only a scale that gives no weight is read by a person, with the reason and a photo of its display.
    const manualGross = h("input", { name: "manualGross", type: "text", inputmode: "decimal", autocomplete: "off" });
    const reason = h("textarea", { name: "manualReason", rows: "2", placeholder: t("weigh.reasonPlaceholder") });
    const photo = h("input", { name: "photo", type: "file", accept: PHOTO_TYPES.join(","), capture: "environment" });
    const byHand = h("div", { class: "by-hand", hidden: true },
      field(t("weigh.grossByHand", { unit: need.unit }), manualGross), field(t("common.reason"), reason),
      field(t("weigh.photo"), photo, t("weigh.photoHint")));
    const handToggle = h("button", { type: "button", class: "small", "data-testid": "by-hand" },
      t("weigh.byHand"));
    handToggle.addEventListener("click", () => {
      byHand.hidden = !byHand.hidden;
      handToggle.textContent = byHand.hidden ? t("weigh.byHand") : t("weigh.fromScale");
    });
    const submit = h("button", { type: "submit", class: "primary big" }, t("clearance.submit"));
    const f = h("form", { class: "tablet-form", "data-testid": "weigh-form" },
      h("p", null, t("weigh.target", { value: fmtNumber(need.quantity), unit: need.unit, tolerance: need.tolerancePct }),
        h("span", { class: "muted" }, `(${fmtNumber(low)} … ${fmtNumber(high)} ${need.unit})`)),
      field(t("weigh.lot"), scanField(lot, () => tare.focus()), t("weigh.lotHint")),
      h("div", { class: "field" }, h("span", null, t("weigh.scale")), scales.length ? scale.el
        : h("p", { class: "error" }, t("weigh.noScale"))),
      h("dl", { class: "live-values" }, h("dt", null, t("weigh.grossLive")), h("dd", null, gross),
        h("dt", null, t("weigh.net")), h("dd", null, net)),
      field(t("weigh.tare", { unit: need.unit }), tare, t("weigh.tareHint")),
      handToggle, byHand,
      signatureLine("PERFORMED"),
      h("p", { class: "muted" }, t("weigh.serverReads")),
      err.el,
      h("div", { class: "actions" }, h("button", { type: "button", class: "big", onClick: () => m.close() }, t("common.cancel")), submit));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      const tareValue = Number(tare.value.replace(",", ".") || "0");
      if (!lot.value.trim()) return err.show(t("weigh.needLot"));
      if (!scale.value()) return err.show(t("weigh.needScale"));
      if (!Number.isFinite(tareValue) || tareValue < 0) return err.show(t("weigh.needTare"));
      const input: WeighMaterialInput = { batchNumber: need.batchNumber, phaseCode: need.phaseCode,
        lotCode: lot.value.trim(), scanned: !typed(), scaleCode: scale.value()!, tare: tareValue };
      const file = photo.files?.[0];
      if (!byHand.hidden) {
        const g = Number(manualGross.value.replace(",", "."));
        if (!manualGross.value.trim() || !Number.isFinite(g)) return err.show(t("weigh.needGross"));
        if (!reason.value.trim()) return err.show(t("weigh.needReason"));
        if (!file) return err.show(t("weigh.needPhoto"));
        if (!PHOTO_TYPES.includes(file.type)) return err.show(t("weigh.photoType"));
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
        toast(t("weigh.done", { name: need.name, net: fmtNumber(w.net), unit: w.unit, label: w.labelCode }));
        m.close();
        done();
      }, t("weigh.thisWeighing"));
    });
    m.body.append(f);
    setTimeout(() => lot.focus(), 0);
  }, "tablet-modal", () => {
    stopLive?.();
    stopLive = null;
  });
}
