/**
 * OOS and trends (QC-25..QC-27, OOT): the OOS records and overdue CAPA; one OOS's investigation with
 * everything linked to it and its signed steps; the control chart of a specification item.
 * Routes: #/quality (the list, ?batch= filters), #/quality/oos?id=N, #/quality/chart?spec=CODE&item=NAME,
 * #/quality/review?product=NAME&year=YYYY (the product quality review).
 */

import type {
  CapaListQuery, CloseOosMutation, CloseOosMutationVariables, EscalateOosMutation, EscalateOosMutationVariables,
  OosConclusion, OosInvestigationQuery, OosInvestigationQueryVariables, OosListQuery, OosListQueryVariables,
  StartOosMutation, StartOosMutationVariables,
} from "../api/generated";
import { gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { sendSigned } from "../sign/keyring";
import { busy, field, refusal } from "../tablet/common";
import { errorBox, toast } from "../ui/modal";
import { mountChart } from "./chart";
import { mountReview } from "./pqr";

const LIST = /* GraphQL */ `query OosList($batchNumber: String) {
  oosRecords(batchNumber: $batchNumber) { id number status batchNumber subjectCode item value limits openedAt specificationCode }
}`;
const CAPAS = /* GraphQL */ `query CapaList {
  capas(overdueOnly: true) { number action owner dueDate oosNumber deviationNumber }
}`;
const ONE = /* GraphQL */ `query OosInvestigation($id: Int!) {
  oos(id: $id) {
    oos { id number status openedAt subjectKind subjectCode stage sampleCode batchNumber item value limits reason
      specificationCode specificationVersion analyst instrument method testedAt source phase1By phase1At
      phase1Findings phase2By phase2At phase2Findings conclusion assignableCause closedBy closedAt }
    batch { batchNumber product status }
    samples { code kind takenAt takenBy storageLocation } testedSamples
    testRecordId testRecordReviewedBy rawValue rounding
    reagents { code name kind lotNumber expiresOn usedAt }
    roomCode environment { tag name unit lowLimit highLimit points { time value min max } }
    methodDocument
    ootAlerts { rules rulesVersion }
    capas { number kind action owner dueDate status effectiveness checkedBy overdue }
  }
}`;
const START = /* GraphQL */ `mutation StartOos($input: OosStepInput!, $signature: SignatureInput!) {
  startOosInvestigation(input: $input, signature: $signature) { status }
}`;
const ESCALATE = /* GraphQL */ `mutation EscalateOos($input: EscalateOosInput!, $signature: SignatureInput!) {
  escalateOos(input: $input, signature: $signature) { status }
}`;
const CLOSE = /* GraphQL */ `mutation CloseOos($input: CloseOosInput!, $signature: SignatureInput!) {
  closeOos(input: $input, signature: $signature) { status }
}`;

type Investigation = NonNullable<OosInvestigationQuery["oos"]>;

export async function mountQuality(main: HTMLElement, sub: string, query: URLSearchParams): Promise<() => void> {
  const side = h("nav", { class: "batch-list oos-list", "aria-label": "OOS records" });
  const panel = h("section", { class: "batch-review oos-panel", "data-testid": "quality-panel" });
  main.replaceChildren(h("div", { class: "batches" }, side, panel));
  const batch = query.get("batch");
  const [list, overdue] = await Promise.all([
    gql<OosListQuery, OosListQueryVariables>(LIST, { batchNumber: batch }),
    gql<CapaListQuery>(CAPAS).catch(() => null),  // CAPA may be out of this reader's reach
  ]);
  const chosen = query.get("id");
  side.append(h("a", { href: "#/quality/review", class: sub === "review" ? "active" : "", "data-testid": "pqr-link" },
    h("strong", null, "Product quality review")),
    h("h2", null, batch ? `OOS of ${batch}` : "OOS records"),
    ...(list.oosRecords.length ? list.oosRecords.map((o) => h("a", {
      href: `#/quality/oos?id=${o.id}`, class: sub === "oos" && String(o.id) === chosen ? "active" : "",
      "data-oos": o.number,
    }, h("strong", null, o.number), h("span", { class: "badge" }, ` ${o.status.replace("_", " ")}`),
    h("span", { class: "muted" }, ` ${o.batchNumber ?? o.subjectCode} · ${o.item} ${o.value}`))) : [h("p", { class: "muted" }, "No OOS records.")]),
    overdue ? h("h2", null, "Overdue CAPA") : "",
    overdue && !overdue.capas.length ? h("p", { class: "muted" }, "None.") : "",
    ...(overdue?.capas ?? []).map((c) => h("p", { class: "overdue", "data-capa": c.number },
      h("strong", null, c.number), ` ${c.owner}, due ${c.dueDate}: ${c.action} (${c.oosNumber ?? c.deviationNumber})`)));
  if (sub === "review") {
    return mountReview(panel, query);
  }
  if (sub === "chart") {
    return mountChart(panel, query.get("spec") ?? "", query.get("item") ?? "");
  }
  if (sub === "oos" && chosen) {
    await showOos(panel, Number(chosen));
    return () => undefined;
  }
  panel.append(h("p", { class: "muted" }, "Choose an OOS record to see its investigation."));
  return () => undefined;
}

function dl(rows: [string, string | number | null | undefined][]): HTMLElement {
  return h("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v === null || v === undefined || v === "" ? "—" : String(v))]));
}

async function showOos(panel: HTMLElement, id: number): Promise<void> {
  const load = async (): Promise<void> => {
    const d = await gql<OosInvestigationQuery, OosInvestigationQueryVariables>(ONE, { id });
    panel.replaceChildren(d.oos ? render(d.oos) : h("p", { class: "error-box" }, `No OOS record ${id}.`));
  };

  function render(inv: Investigation): HTMLElement {
    const o = inv.oos;
    const chartLink = o.specificationCode ? h("a", {
      href: `#/quality/chart?spec=${encodeURIComponent(o.specificationCode)}&item=${encodeURIComponent(o.item)}`,
      "data-testid": "chart-link",
    }, "Control chart of this item") : "";
    return h("div", { "data-testid": "oos-investigation", "data-status": o.status },
      h("div", { class: "list-head" }, h("h2", null, `${o.number} · ${o.status.replace("_", " ")}`), h("span", { class: "spacer" }), chartLink),
      h("p", { class: "muted" }, o.reason),
      h("h3", null, "The result"),
      dl([["Subject", `${o.subjectKind} ${o.subjectCode}${o.stage ? ` (${o.stage})` : ""}`], ["Sample tested", o.sampleCode ?? inv.testedSamples.join(", ")],
        ["Batch", inv.batch ? `${inv.batch.batchNumber} · ${inv.batch.product} · ${inv.batch.status}` : o.batchNumber],
        ["Item", o.item], ["Value", o.value], ["Raw value", inv.rawValue], ["Rounding", inv.rounding], ["Limits", o.limits],
        ["Specification", o.specificationCode ? `${o.specificationCode} v${o.specificationVersion}` : null],
        ["Analyst", o.analyst], ["Instrument", o.instrument], ["Method", o.method],
        ["Method document", inv.methodDocument], ["Tested at", fmtTime(o.testedAt)], ["Source", o.source],
        ["Test record", inv.testRecordId ? `${inv.testRecordId}${inv.testRecordReviewedBy ? `, reviewed by ${inv.testRecordReviewedBy}` : ", not reviewed"}` : null]]),
      h("h3", null, "Samples of the batch"),
      table(["Code", "Kind", "Taken", "By", "Stored"], inv.samples.map((x) => [x.code, x.kind, fmtTime(x.takenAt), x.takenBy, x.storageLocation ?? ""])),
      h("h3", null, "Reagents and kits used"),
      table(["Code", "Name", "Lot", "Expires", "Used"], inv.reagents.map((r) => [r.code, r.name, r.lotNumber, r.expiresOn, fmtTime(r.usedAt)])),
      h("h3", null, `Room environment around the test${inv.roomCode ? ` (${inv.roomCode})` : ""}`),
      table(["Tag", "Name", "Limits", "Lowest", "Highest", "Readings"], inv.environment.map((e) => {
        const vals = e.points.flatMap((p) => [p.min, p.max]).filter((v): v is number => v !== null && v !== undefined);
        return [e.tag, e.name, `${e.lowLimit ?? "—"} … ${e.highLimit ?? "—"} ${e.unit}`,
          vals.length ? `${Math.min(...vals)} ${e.unit}` : "—", vals.length ? `${Math.max(...vals)} ${e.unit}` : "—", String(e.points.length)];
      })),
      inv.ootAlerts.length ? h("p", { class: "badge" }, `Out of trend: ${inv.ootAlerts.flatMap((a) => a.rules).join(", ")}`) : "",
      h("h3", null, "Investigation"),
      dl([["Phase 1 (laboratory)", o.phase1By ? `${o.phase1By}, ${fmtTime(o.phase1At)}` : null], ["Phase 1 findings", o.phase1Findings],
        ["Phase 2 (full)", o.phase2By ? `${o.phase2By}, ${fmtTime(o.phase2At)}` : null], ["Phase 2 findings", o.phase2Findings],
        ["Conclusion", o.conclusion], ["Assignable cause", o.assignableCause],
        ["Closed", o.closedBy ? `${o.closedBy}, ${fmtTime(o.closedAt)}` : null]]),
      h("h3", null, "CAPA"),
      table(["Number", "Kind", "Action", "Owner", "Due", "Status", "Effectiveness"], inv.capas.map((c) =>
        [c.number, c.kind, c.action, c.owner, `${c.dueDate}${c.overdue ? " (overdue)" : ""}`, c.status, c.effectiveness ? `${c.effectiveness} (${c.checkedBy})` : ""])),
      steps(inv));
  }

  function steps(inv: Investigation): HTMLElement {
    const o = inv.oos;
    const err = errorBox();
    const box = h("div", { class: "oos-steps" });
    if (o.status === "OPEN") {
      const go = h("button", { type: "button", class: "primary", "data-step": "start" }, "Start the laboratory investigation (sign)");
      go.addEventListener("click", () => void busy(go, "Signing…", async () => {
        await sendSigned<StartOosMutation, StartOosMutationVariables>({ operation: "startOosInvestigation", document: START, input: { oosId: o.id } });
        toast(`${o.number}: laboratory investigation started`);
        await load();
      }, (e) => err.show(refusal(e))));
      box.append(go);
    }
    if (o.status === "PHASE_1") {
      const findings = h("textarea", { name: "phase1", rows: "2", placeholder: "Laboratory findings: no assignable cause" });
      const go = h("button", { type: "button", "data-step": "escalate" }, "Escalate to a full investigation (sign)");
      go.addEventListener("click", () => {
        if (!findings.value.trim()) return err.show("Write the laboratory findings.");
        void busy(go, "Signing…", async () => {
          await sendSigned<EscalateOosMutation, EscalateOosMutationVariables>({ operation: "escalateOos", document: ESCALATE,
            input: { oosId: o.id, findings: findings.value.trim() } });
          await load();
        }, (e) => err.show(refusal(e)));
      });
      box.append(field("Laboratory findings", findings), go);
    }
    if (o.status === "PHASE_1" || o.status === "PHASE_2") {
      const conclusion = h("select", { name: "conclusion" },
        ...(o.status === "PHASE_2" ? ["CONFIRMED", "INVALIDATED"] : ["INVALIDATED"]).map((c) => h("option", { value: c }, c)));
      const findings = h("textarea", { name: "findings", rows: "2", placeholder: "Findings of the investigation" });
      const cause = h("input", { name: "cause", placeholder: "Assignable cause (to invalidate)" });
      const go = h("button", { type: "button", class: "primary", "data-step": "close" }, "Close with this conclusion (QA, sign APPROVED)");
      go.addEventListener("click", () => {
        if (!findings.value.trim()) return err.show("Write the findings.");
        void busy(go, "Signing…", async () => {
          await sendSigned<CloseOosMutation, CloseOosMutationVariables>({ operation: "closeOos", document: CLOSE, meaning: "APPROVED",
            input: { oosId: o.id, conclusion: conclusion.value as OosConclusion, findings: findings.value.trim(),
              assignableCause: cause.value.trim() || null } });
          await load();
        }, (e) => err.show(refusal(e)));
      });
      box.append(field("Conclusion", conclusion), field("Findings", findings), field("Assignable cause", cause), go);
    }
    box.append(err.el);
    return box;
  }

  await load();
}

function table(head: string[], rows: string[][]): HTMLElement {
  if (!rows.length) return h("p", { class: "muted" }, "None recorded.");
  return h("table", { class: "review-items" },
    h("thead", null, h("tr", null, ...head.map((t) => h("th", null, t)))),
    h("tbody", null, ...rows.map((r) => h("tr", null, ...r.map((c) => h("td", null, c))))));
}
