/**
 * Guided phase execution on the floor: the batch's phases in the recipe's order, and for the phase
 * at hand its instructions, materials to weigh, equipment and pre-operation check (before the
 * start), then its live critical parameters against the recipe's limits, the values entered by
 * hand, the output and the signatures (at the end). The server checks everything again; a refusal
 * is shown as it gives it.
 */

import type {
  CompletePhaseInput, CompletePhaseMutation, CompletePhaseMutationVariables, PhaseBatchesQuery, PhaseScreenQuery,
  PhaseScreenQueryVariables, PhaseTagsSubscription, PhaseTagsSubscriptionVariables, RecipeStepsQuery,
  RecipeStepsQueryVariables, StartPhaseMutation, StartPhaseMutationVariables,
} from "../api/generated";
import { errorText, GqlError, gql } from "../api/gql";
import { live } from "../api/live";
import { fmtNumber, fmtTime, h } from "../dom";
import type { PlantIndex } from "../control/plant";
import { sendSigned } from "../sign/keyring";
import { signOperation, type Signer } from "../sign/signer";
import { signatureLine } from "../ui/ackDialog";
import { errorBox } from "../ui/modal";
import { busy, choice, field, refusal } from "./common";
import { askVerifier } from "./verifier";
import { openWeighing, TAGS, uploadPhoto } from "./weigh";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

const BATCHES = /* GraphQL */ `query PhaseBatches {
  batches(first: 50) { edges { node { batchNumber product status recipeCode } } }
}`;
const SCREEN = /* GraphQL */ `query PhaseScreen($b: String!) {
  batch(batchNumber: $b) { batchNumber product status recipeCode recipeVersion }
  batchPhases(batchNumber: $b) { phaseCode status equipmentCode startedAt startedBy completedAt completedBy
    verifiedBy exception yieldPct balancePct }
  batchWeighings(batchNumber: $b) { phaseCode materialCode net unit weighedBy verifiedBy labelCode }
  preOperationCheck
  runningPhases { equipmentCode batchNumber phaseCode }
}`;
const RECIPE = /* GraphQL */ `query RecipeSteps($code: String!, $version: Int) {
  recipe(code: $code, version: $version) {
    phases { code name operation equipmentClass instructions after signatures output outputUnit
      sop effectiveSop { code version title }
      materials { code name quantity unit tolerancePct }
      parameters { name unit low high tag }
      controls { name method unit low high } }
  }
}`;
const START = /* GraphQL */ `mutation StartPhase($input: StartPhaseInput!, $signature: SignatureInput!) {
  startPhase(input: $input, signature: $signature) { phaseCode status }
}`;
const COMPLETE = /* GraphQL */ `mutation CompletePhase($input: CompletePhaseInput!, $signature: SignatureInput!,
  $verification: SignatureInput) {
  completePhase(input: $input, signature: $signature, verification: $verification) {
    phaseCode status exception yieldPct balancePct
  }
}`;

type Screen = PhaseScreenQuery;
type Step = NonNullable<RecipeStepsQuery["recipe"]>["phases"][number];

/** The SOP the phase is carried out under: only its effective version is ever shown (QM-08). */
function sopLine(step: Step): HTMLElement | string {
  if (!step.sop) return "";
  const sop = step.effectiveSop;
  return sop ? h("p", { class: "muted", "data-sop": sop.code }, t("batch.sop", { code: sop.code, version: sop.version, title: sop.title }))
    : h("p", { class: "error" }, t("batch.sopMissing", { code: step.sop }));
}
type Run = Screen["batchPhases"][number];
type Go = (hash: string) => void;
const OPEN = new Set(["PLANNED", "IN_PROGRESS"]);

export function batchScreen(index: PlantIndex, batchNumber: string | null, go: Go): { el: HTMLElement; dispose(): void } {
  const root = h("section", { class: "tablet-screen", "data-screen": "batch" }, h("p", { class: "muted" }, t("common.loading")));
  let stopLive: (() => void) | null = null;
  const dispose = () => {
    stopLive?.();
    stopLive = null;
  };
  if (!batchNumber) {
    void pickBatch(root, go);
    return { el: root, dispose };
  }
  const load = async (): Promise<void> => {
    dispose();
    try {
      const d = await gql<Screen, PhaseScreenQueryVariables>(SCREEN, { b: batchNumber });
      if (!d.batch) throw new Error(t("batch.noBatch", { batch: batchNumber }));
      const r = await gql<RecipeStepsQuery, RecipeStepsQueryVariables>(RECIPE,
        { code: d.batch.recipeCode ?? "", version: d.batch.recipeVersion ?? null });
      if (!r.recipe) throw new Error(t("batch.noRecipe", { batch: batchNumber }));
      render(d, r.recipe.phases);
    } catch (e) {
      root.replaceChildren(h("p", { class: "error-box", role: "alert" }, t("batch.failed", { error: errorText(e) })));
    }
  };

  function render(d: Screen, steps: Step[]): void {
    const batch = d.batch!;
    const runs = new Map(d.batchPhases.map((p) => [p.phaseCode, p]));
    const done = (code: string) => runs.get(code)?.status === "COMPLETED";
    const running = steps.find((s) => runs.get(s.code)?.status === "RUNNING");
    const next = running ?? steps.find((s) => !runs.has(s.code) && s.after.every(done));
    const list = h("ol", { class: "phase-steps", "aria-label": t("batch.phases") }, ...steps.map((s) => {
      const run = runs.get(s.code);
      const state = run ? run.status.toLowerCase() : s === next ? "next" : "waiting";
      return h("li", { class: `phase-step ${state}`, "data-phase": s.code, "data-state": state },
        h("strong", null, s.code), ` ${s.name}`, run?.exception ? h("span", { class: "badge" }, t("batch.exceptionBadge")) : "");
    }));
    const head = h("div", { class: "list-head" },
      h("h2", null, `${batch.batchNumber} · ${batch.product}`), h("span", { class: "spacer" }),
      h("button", { type: "button", class: "big", onClick: () => go("#/tablet/batch") }, t("batch.other")));
    const card = !OPEN.has(batch.status) ? h("p", { class: "tablet-result ok" }, t("batch.nothing", { status: enumLabel("BatchStatus", batch.status) }))
      : !next ? h("p", { class: "muted" }, t("batch.noPhase"))
        : running ? runningCard(d, next, runs.get(next.code)!) : startCard(d, next);
    root.replaceChildren(head, h("p", { class: "muted" }, t("batch.statusLine", { status: enumLabel("BatchStatus", batch.status), recipe: batch.recipeCode, version: batch.recipeVersion })),
      list, card);
  }

  function startCard(d: Screen, step: Step): HTMLElement {
    const err = errorBox();
    const weighed = new Map(d.batchWeighings.filter((w) => w.phaseCode === step.code).map((w) => [w.materialCode, w]));
    const materials = step.materials.map((m) => {
      const w = weighed.get(m.code);
      const weigh = h("button", { type: "button", class: "big", "data-weigh": m.code }, t("batch.weigh"));
      weigh.addEventListener("click", () => openWeighing(index, { batchNumber: d.batch!.batchNumber, phaseCode: step.code,
        ...m }, () => void load()));
      return h("li", { class: `material ${w ? "weighed" : ""}`, "data-material": m.code },
        h("div", null, h("strong", null, m.name),
          h("div", { class: "muted" }, `${fmtNumber(m.quantity)} ${m.unit} ± ${m.tolerancePct} %`)),
        w ? h("div", { class: "ok" }, `✓ ${fmtNumber(w.net)} ${w.unit} · ${w.weighedBy} / ${w.verifiedBy} · ${w.labelCode}`) : weigh);
    });
    const usable = [...index.equipment.values()].filter((e) => e.kind === step.equipmentClass);
    // Statuses as of now: the plant layout was read once, the running phases just now.
    const inUse = new Map(d.runningPhases.map((p) => [p.equipmentCode, t("batch.inUse", { batch: p.batchNumber, phase: p.phaseCode })]));
    const state = (code: string, status: string) => inUse.get(code) ?? enumLabel("EquipmentStatus", status === "RUNNING" ? "IDLE" : status);
    const equipment = choice(t("details.equipment"), usable.map((e) => ({ value: e.code, text: `${e.code} · ${e.name} · ${state(e.code, e.status)}` })),
      usable.length === 1 ? usable[0].code : null);
    const checks = d.preOperationCheck.map((item) =>
      ({ item, box: choice(item, [{ value: "yes", text: t("batch.confirmed") }]) }));
    const start = h("button", { type: "button", class: "primary big", "data-testid": "start-phase" }, t("batch.start", { phase: step.code }));
    start.addEventListener("click", () => {
      err.clear();
      if (materials.length && weighed.size < step.materials.length) return err.show(t("batch.weighFirst"));
      if (!equipment.value()) return err.show(t("batch.chooseEquipment"));
      const open = checks.findIndex((c) => !c.box.value());
      if (open >= 0) return err.show(t("batch.confirm", { item: checks[open].item }));
      void busy(start, t("sign.signing"), async () => {
        await sendSigned<StartPhaseMutation, StartPhaseMutationVariables>({ operation: "startPhase", document: START,
          input: { batchNumber: d.batch!.batchNumber, phaseCode: step.code, equipmentCode: equipment.value()!,
            confirmed: checks.map((c) => c.item) } });
        await load();
      }, (e) => err.show(refusal(e)));
    });
    return h("div", { class: "phase-card", "data-phase": step.code, "data-state": "ready" },
      h("h3", null, `${step.code} · ${step.name}`), sopLine(step), h("p", { class: "instructions" }, step.instructions),
      materials.length ? h("div", null, h("h4", null, t("batch.materials")), h("ul", { class: "materials" }, ...materials)) : "",
      h("h4", null, t("batch.equipmentClass", { kind: step.equipmentClass.replace(/_/g, " ") })),
      usable.length ? equipment.el : h("p", { class: "error" }, t("batch.noEquipment")),
      h("h4", null, t("batch.preCheck")),
      h("ul", { class: "check-items" }, ...checks.map((c) => h("li", { class: "check-item" }, h("div", { class: "item-text" }, c.item), c.box.el))),
      signatureLine("PERFORMED"), err.el, start);
  }

  function runningCard(d: Screen, step: Step, run: Run): HTMLElement {
    const err = errorBox();
    const tagged = step.parameters.filter((p) => p.tag);
    const setters = new Map<string, (v: number | null, quality: string | null) => void>();
    const tileFor = (p: Step["parameters"][number]) => {
      const sn = index.sensors.get(p.tag!);
      const value = h("div", { class: "cpp-value", "data-tag": p.tag! }, "—");
      const tile = h("div", { class: "cpp", "data-parameter": p.name },
        h("div", { class: "cpp-name" }, p.name), value,
        h("div", { class: "muted" }, `${p.low ?? "—"} … ${p.high ?? "—"} ${p.unit} · ${p.tag}`));
      const set = (v: number | null, quality: string | null) => {
        value.textContent = v === null ? "—" : `${fmtNumber(v, p.unit)} ${p.unit}${quality && quality !== "GOOD" ? ` ${quality}` : ""}`;
        const out = v !== null && ((p.low !== null && v < p.low) || (p.high !== null && v > p.high));
        tile.classList.toggle("out", out);
        tile.dataset.within = String(v !== null && !out);
      };
      set(sn?.value ?? null, sn?.quality ?? null);
      setters.set(p.tag!, set);
      return tile;
    };
    const grid = h("div", { class: "cpp-grid", "data-testid": "cpp-grid" }, ...tagged.map(tileFor));
    if (tagged.length) {
      stopLive = live.subscribe<PhaseTagsSubscription, PhaseTagsSubscriptionVariables>(TAGS,
        { tags: tagged.map((p) => p.tag!) }, (u) => setters.get(u.sensorUpdates.tag)?.(u.sensorUpdates.value,
          u.sensorUpdates.quality), (msg) => err.show(t("control.liveRefused", { error: msg })));
    }
    // Rules per risk class (PR-04) may ask for the photo the value was read from and a second person.
    const entry = (name: string, unit: string, low: number | null, high: number | null, kind: string) => {
      const input = h("input", { type: "text", inputmode: "decimal", autocomplete: "off", name: `${kind}:${name}`,
        "aria-label": `${name} (${unit})` });
      const reason = h("input", { type: "text", autocomplete: "off", name: `reason:${name}`, placeholder: t("clearance.notePlaceholder"),
        "aria-label": t("batch.noteFor", { name }) });
      const photo = h("input", { type: "file", name: `photo:${name}`, accept: "image/jpeg,image/png,application/pdf",
        capture: "environment", "aria-label": t("batch.photoFor", { name }) });
      const el = h("div", { class: "entry" }, field(`${name} (${unit})`, input, t("batch.limits", { low: low ?? "—", high: high ?? "—" })),
        h("div", { class: "entry-extra" }, reason, photo));
      return { name, input, reason, photo, el };
    };
    const manual = step.parameters.filter((p) => !p.tag).map((p) => entry(p.name, p.unit, p.low, p.high, "manual"));
    const controls = step.controls.map((c) => entry(c.name, c.unit, c.low, c.high, "control"));
    const output = h("input", { type: "text", inputmode: "decimal", autocomplete: "off", name: "output" });
    const losses = h("input", { type: "text", inputmode: "decimal", autocomplete: "off", name: "losses", value: "0" });
    const verify = step.signatures.includes("VERIFIED");
    const finish = h("button", { type: "button", class: "primary big", "data-testid": "complete-phase" },
      verify ? t("batch.signVerify", { phase: step.code }) : t("batch.complete", { phase: step.code }));
    const num = (s: string) => Number(s.trim().replace(",", "."));
    const uploads = new Map<File, Promise<string>>(); // once per file, however often the signing is retried
    finish.addEventListener("click", () => {
      err.clear();
      const missing = [...manual, ...controls].find((e) => !e.input.value.trim() || !Number.isFinite(num(e.input.value)));
      if (missing) return err.show(t("batch.needNumber", { name: missing.name }));
      if (step.output !== null && (!output.value.trim() || !Number.isFinite(num(output.value)))) {
        return err.show(t("batch.needOutput", { unit: step.outputUnit }));
      }
      const values = async (list: typeof manual) => Promise.all(list.map(async (e) => {
        const file = e.photo.files?.[0];
        if (file && !uploads.has(file)) uploads.set(file, uploadPhoto(file, `${e.name} of ${d.batch!.batchNumber} ${step.code}`));
        return { name: e.name, value: num(e.input.value), ...(e.reason.value.trim() ? { reason: e.reason.value.trim() } : {}),
          ...(file ? { attachmentId: await uploads.get(file)! } : {}) };
      }));
      const send = async (verifier?: Signer) => {
        const input: CompletePhaseInput = {
          batchNumber: d.batch!.batchNumber, phaseCode: step.code, manual: await values(manual),
          controls: await values(controls), losses: Number.isFinite(num(losses.value)) ? num(losses.value) : 0,
          ...(step.output !== null ? { output: num(output.value) } : {}),
        };
        const r = await sendSigned<CompletePhaseMutation, CompletePhaseMutationVariables>({
          operation: "completePhase", document: COMPLETE, input,
          verification: verifier ? (sent) => signOperation(verifier, "completePhase", sent, "VERIFIED") : undefined });
        dispose();
        root.replaceChildren(completed(r.completePhase, step));
      };
      const verified = () => askVerifier((v) => send(v), t("batch.thisPhase", { phase: step.code }));
      if (verify) return verified();
      void busy(finish, t("sign.signing"), () => send(), (e) => {
        // A value entered by hand whose risk class asks for a second person: the server says so.
        if (e instanceof GqlError && e.code === "SIGNATURE_REQUIRED") verified();
        else err.show(refusal(e));
      });
    });
    return h("div", { class: "phase-card", "data-phase": step.code, "data-state": "running" },
      h("h3", null, `${step.code} · ${step.name}`),
      h("p", { class: "muted" }, t("batch.running", { equipment: run.equipmentCode, time: fmtTime(run.startedAt), by: run.startedBy })),
      sopLine(step), h("p", { class: "instructions" }, step.instructions),
      tagged.length ? h("div", null, h("h4", null, t("batch.cpp")), grid) : "",
      manual.length ? h("div", null, h("h4", null, t("batch.manual")), ...manual.map((e) => e.el)) : "",
      controls.length ? h("div", null, h("h4", null, t("batch.controls")), ...controls.map((e) => e.el)) : "",
      step.output !== null ? h("div", null, h("h4", null, t("batch.output")), field(t("batch.outputIn", { unit: step.outputUnit }), output,
        t("batch.theoretical", { value: fmtNumber(step.output), unit: step.outputUnit })),
        field(t("batch.lossesIn", { unit: step.outputUnit }), losses)) : "",
      signatureLine("PERFORMED"), err.el, finish);
  }

  function completed(p: CompletePhaseMutation["completePhase"], step: Step): HTMLElement {
    return h("div", { class: `tablet-result ${p.exception ? "bad" : "ok"}`, role: "status", "data-testid": "phase-result" },
      h("h2", null, p.exception ? t("batch.completedException", { phase: step.code })
        : t("batch.completedOk", { phase: step.code })),
      h("dl", null,
        h("dt", null, t("batch.yield")), h("dd", null, p.yieldPct === null ? "—" : `${fmtNumber(p.yieldPct)} %`),
        h("dt", null, t("batch.balance")), h("dd", null, p.balancePct === null ? "—" : `${fmtNumber(p.balancePct)} %`)),
      h("div", { class: "actions" }, h("button", { class: "big primary", onClick: () => void load() }, t("batch.nextPhase"))));
  }

  void load();
  return { el: root, dispose };
}

async function pickBatch(root: HTMLElement, go: Go): Promise<void> {
  try {
    const d = await gql<PhaseBatchesQuery>(BATCHES);
    const open = d.batches.edges.map((e) => e.node).filter((b) => OPEN.has(b.status) && b.recipeCode);
    root.replaceChildren(h("h2", null, t("batch.toExecute")), open.length
      ? h("ul", { class: "task-list" }, ...open.map((b) => h("li", { class: "task", "data-batch": b.batchNumber },
        h("div", null, h("div", { class: "task-title" }, b.batchNumber), h("div", { class: "muted" }, `${b.product} · ${enumLabel("BatchStatus", b.status)}`)),
        h("button", { class: "big primary", onClick: () => go(`#/tablet/batch?b=${encodeURIComponent(b.batchNumber)}`) }, t("common.open")))))
      : h("p", { class: "muted" }, t("batch.noneOpen")));
  } catch (e) {
    root.replaceChildren(h("p", { class: "error-box", role: "alert" }, t("batch.listFailed", { error: errorText(e) })));
  }
}
