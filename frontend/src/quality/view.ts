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
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

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
  const side = h("nav", { class: "batch-list oos-list", "aria-label": t("oos.records") });
  const panel = h("section", { class: "batch-review oos-panel", "data-testid": "quality-panel" });
  main.replaceChildren(h("div", { class: "batches" }, side, panel));
  const batch = query.get("batch");
  const [list, overdue] = await Promise.all([
    gql<OosListQuery, OosListQueryVariables>(LIST, { batchNumber: batch }),
    gql<CapaListQuery>(CAPAS).catch(() => null),  // CAPA may be out of this reader's reach
  ]);
  const chosen = query.get("id");
  side.append(h("a", { href: "#/quality/review", class: sub === "review" ? "active" : "", "data-testid": "pqr-link" },
    h("strong", null, t("pqr.title"))),
    h("h2", null, batch ? t("oos.ofBatch", { batch }) : t("oos.records")),
    ...(list.oosRecords.length ? list.oosRecords.map((o) => h("a", {
      href: `#/quality/oos?id=${o.id}`, class: sub === "oos" && String(o.id) === chosen ? "active" : "",
      "data-oos": o.number,
    }, h("strong", null, o.number), h("span", { class: "badge" }, ` ${enumLabel("OosStatus", o.status)}`),
    h("span", { class: "muted" }, ` ${o.batchNumber ?? o.subjectCode} · ${o.item} ${o.value}`))) : [h("p", { class: "muted" }, t("oos.none"))]),
    overdue ? h("h2", null, t("oos.overdueCapa")) : "",
    overdue && !overdue.capas.length ? h("p", { class: "muted" }, t("pqr.none")) : "",
    ...(overdue?.capas ?? []).map((c) => h("p", { class: "overdue", "data-capa": c.number },
      h("strong", null, c.number), t("oos.capaLine", { owner: c.owner, due: c.dueDate, action: c.action, ref: c.oosNumber ?? c.deviationNumber }))));
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
  panel.append(h("p", { class: "muted" }, t("oos.choose")));
  return () => undefined;
}

function dl(rows: [string, string | number | null | undefined][]): HTMLElement {
  return h("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v === null || v === undefined || v === "" ? "—" : String(v))]));
}

async function showOos(panel: HTMLElement, id: number): Promise<void> {
  const load = async (): Promise<void> => {
    const d = await gql<OosInvestigationQuery, OosInvestigationQueryVariables>(ONE, { id });
    panel.replaceChildren(d.oos ? render(d.oos) : h("p", { class: "error-box" }, t("oos.noRecord", { id })));
  };

  function render(inv: Investigation): HTMLElement {
    const o = inv.oos;
    const chartLink = o.specificationCode ? h("a", {
      href: `#/quality/chart?spec=${encodeURIComponent(o.specificationCode)}&item=${encodeURIComponent(o.item)}`,
      "data-testid": "chart-link",
    }, t("oos.chartLink")) : "";
    return h("div", { "data-testid": "oos-investigation", "data-status": o.status },
      h("div", { class: "list-head" }, h("h2", null, `${o.number} · ${enumLabel("OosStatus", o.status)}`), h("span", { class: "spacer" }), chartLink),
      h("p", { class: "muted" }, o.reason),
      h("h3", null, t("oos.result")),
      dl([[t("oos.subject"), `${enumLabel("SubjectKind", o.subjectKind)} ${o.subjectCode}${o.stage ? ` (${enumLabel("TestStage", o.stage)})` : ""}`], [t("oos.sampleTested"), o.sampleCode ?? inv.testedSamples.join(", ")],
        [t("chart.col.batch"), inv.batch ? `${inv.batch.batchNumber} · ${inv.batch.product} · ${enumLabel("BatchStatus", inv.batch.status)}` : o.batchNumber],
        [t("lab.col.item"), o.item], [t("chart.col.value"), o.value], [t("oos.rawValue"), inv.rawValue], [t("oos.rounding"), inv.rounding],
        [t("details.col.limits"), o.limits],
        [t("worklist.specification"), o.specificationCode ? `${o.specificationCode} v${o.specificationVersion}` : null],
        [t("lab.col.analyst"), o.analyst], [t("import.instrument"), o.instrument], [t("worklist.method"), o.method],
        [t("oos.methodDocument"), inv.methodDocument], [t("oos.testedAt"), fmtTime(o.testedAt)], [t("alarms.col.source"), enumLabel("ResultSource", o.source)],
        [t("oos.testRecord"), inv.testRecordId ? `${inv.testRecordId}${inv.testRecordReviewedBy
          ? t("oos.reviewedBy", { by: inv.testRecordReviewedBy }) : t("oos.notReviewed")}` : null]]),
      h("h3", null, t("oos.samples")),
      table([t("oos.col.code"), t("review.col.kind"), t("oos.col.taken"), t("oos.col.by"), t("oos.col.stored")], inv.samples.map((x) => [x.code, enumLabel("SampleKind", x.kind), fmtTime(x.takenAt), x.takenBy, x.storageLocation ?? ""])),
      h("h3", null, t("oos.reagents")),
      table([t("oos.col.code"), t("oos.col.name"), t("oos.col.lot"), t("oos.col.expires"), t("oos.col.used")], inv.reagents.map((r) => [r.code, r.name, r.lotNumber, r.expiresOn, fmtTime(r.usedAt)])),
      h("h3", null, t("oos.environment") + (inv.roomCode ? ` (${inv.roomCode})` : "")),
      table([t("oos.col.tag"), t("oos.col.name"), t("details.col.limits"), t("oos.col.lowest"), t("oos.col.highest"), t("oos.col.readings")], inv.environment.map((e) => {
        const vals = e.points.flatMap((p) => [p.min, p.max]).filter((v): v is number => v !== null && v !== undefined);
        return [e.tag, e.name, `${e.lowLimit ?? "—"} … ${e.highLimit ?? "—"} ${e.unit}`,
          vals.length ? `${Math.min(...vals)} ${e.unit}` : "—", vals.length ? `${Math.max(...vals)} ${e.unit}` : "—", String(e.points.length)];
      })),
      inv.ootAlerts.length ? h("p", { class: "badge" },
        t("chart.oot", { list: inv.ootAlerts.flatMap((a) => a.rules).map((r) => enumLabel("Rule", r)).join(", ") })) : "",
      h("h3", null, t("oos.investigation")),
      dl([[t("oos.phase1"), o.phase1By ? `${o.phase1By}, ${fmtTime(o.phase1At)}` : null], [t("oos.phase1Findings"), o.phase1Findings],
        [t("oos.phase2"), o.phase2By ? `${o.phase2By}, ${fmtTime(o.phase2At)}` : null], [t("oos.phase2Findings"), o.phase2Findings],
        [t("review.col.conclusion"), o.conclusion ? enumLabel("OosConclusion", o.conclusion) : null], [t("oos.cause"), o.assignableCause],
        [t("oos.closed"), o.closedBy ? `${o.closedBy}, ${fmtTime(o.closedAt)}` : null]]),
      h("h3", null, "CAPA"),
      table([t("pqr.number"), t("review.col.kind"), t("oos.col.action"), t("oos.col.owner"), t("oos.col.due"), t("details.status"),
        t("oos.col.effectiveness")], inv.capas.map((c) =>
        [c.number, enumLabel("CapaKind", c.kind), c.action, c.owner, `${c.dueDate}${c.overdue ? t("oos.overdue") : ""}`, enumLabel("CapaStatus", c.status),
          c.effectiveness ? `${enumLabel("Effectiveness", c.effectiveness)} (${c.checkedBy})` : ""])),
      steps(inv));
  }

  function steps(inv: Investigation): HTMLElement {
    const o = inv.oos;
    const err = errorBox();
    const box = h("div", { class: "oos-steps" });
    if (o.status === "OPEN") {
      const go = h("button", { type: "button", class: "primary", "data-step": "start" }, t("oos.start"));
      go.addEventListener("click", () => void busy(go, t("sign.signing"), async () => {
        await sendSigned<StartOosMutation, StartOosMutationVariables>({ operation: "startOosInvestigation", document: START, input: { oosId: o.id } });
        toast(t("oos.started", { number: o.number }));
        await load();
      }, (e) => err.show(refusal(e))));
      box.append(go);
    }
    if (o.status === "PHASE_1") {
      const findings = h("textarea", { name: "phase1", rows: "2", placeholder: t("oos.labFindingsPlaceholder") });
      const go = h("button", { type: "button", "data-step": "escalate" }, t("oos.escalate"));
      go.addEventListener("click", () => {
        if (!findings.value.trim()) return err.show(t("oos.needLabFindings"));
        void busy(go, t("sign.signing"), async () => {
          await sendSigned<EscalateOosMutation, EscalateOosMutationVariables>({ operation: "escalateOos", document: ESCALATE,
            input: { oosId: o.id, findings: findings.value.trim() } });
          await load();
        }, (e) => err.show(refusal(e)));
      });
      box.append(field(t("oos.labFindings"), findings), go);
    }
    if (o.status === "PHASE_1" || o.status === "PHASE_2") {
      const conclusion = h("select", { name: "conclusion" },
        ...(o.status === "PHASE_2" ? ["CONFIRMED", "INVALIDATED"] : ["INVALIDATED"]).map((c) => h("option", { value: c }, enumLabel("OosConclusion", c))));
      const findings = h("textarea", { name: "findings", rows: "2", placeholder: t("oos.findingsPlaceholder") });
      const cause = h("input", { name: "cause", placeholder: t("oos.causePlaceholder") });
      const go = h("button", { type: "button", class: "primary", "data-step": "close" }, t("oos.close"));
      go.addEventListener("click", () => {
        if (!findings.value.trim()) return err.show(t("oos.needFindings"));
        void busy(go, t("sign.signing"), async () => {
          await sendSigned<CloseOosMutation, CloseOosMutationVariables>({ operation: "closeOos", document: CLOSE, meaning: "APPROVED",
            input: { oosId: o.id, conclusion: conclusion.value as OosConclusion, findings: findings.value.trim(),
              assignableCause: cause.value.trim() || null } });
          await load();
        }, (e) => err.show(refusal(e)));
      });
      box.append(field(t("review.col.conclusion"), conclusion), field(t("oos.findings"), findings), field(t("oos.cause"), cause), go);
    }
    box.append(err.el);
    return box;
  }

  await load();
}

function table(head: string[], rows: string[][]): HTMLElement {
  if (!rows.length) return h("p", { class: "muted" }, t("oos.noneRecorded"));
  return h("table", { class: "review-items" },
    h("thead", null, h("tr", null, ...head.map((x) => h("th", null, x)))),
    h("tbody", null, ...rows.map((r) => h("tr", null, ...r.map((c) => h("td", null, c))))));
}
