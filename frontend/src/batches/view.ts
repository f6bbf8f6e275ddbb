/**
 * Batch records for QA (PR-70..PR-72): the batches, and for one of them the review by exception:
 * every exception, filterable by kind, with its audit trail one click away; QA concludes selected
 * items with one signature (REVIEWED) and, once nothing is left open, the whole record with an opinion.
 */

import type {
  BatchReviewQuery, BatchReviewQueryVariables, ConcludeReviewMutation, ConcludeReviewMutationVariables,
  ItemAuditQuery, RecordPdfQuery, RecordPdfQueryVariables, ReviewBatchesQuery, ReviewItemsMutation, ReviewItemsMutationVariables, ReviewKind,
} from "../api/generated";
import { gql } from "../api/gql";
import { can } from "../api/permissions";
import { fmtTime, h } from "../dom";
import { sendSigned } from "../sign/keyring";
import { busy, field, refusal } from "../tablet/common";
import { saveFile } from "../ui/files";
import { errorBox, toast } from "../ui/modal";
import { decisionPanel } from "./release";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

const BATCHES = /* GraphQL */ `query ReviewBatches {
  batches(first: 50) { edges { node { batchNumber product status recipeCode } } }
}`;
const REVIEW = /* GraphQL */ `query BatchReview($batchNumber: String!, $kinds: [ReviewKind!], $unreviewedOnly: Boolean!) {
  batchReview(batchNumber: $batchNumber, kinds: $kinds, unreviewedOnly: $unreviewedOnly) {
    batchNumber status total unreviewed blockers
    items { key kind at phaseCode summary entity entityId open reviewed conclusion reviewedBy }
    conclusion { opinion items concludedBy concludedAt }
  }
}`;
const AUDIT = /* GraphQL */ `query ItemAudit($entity: String!, $entityId: String!) {
  auditTrail(filter: { entity: $entity, entityId: $entityId }, first: 20) {
    edges { node { occurredAt actor action reason } }
  }
}`;
const REVIEW_ITEMS = /* GraphQL */ `mutation ReviewItems($input: ReviewBatchItemsInput!, $signature: SignatureInput!) {
  reviewBatchItems(input: $input, signature: $signature) { key reviewed }
}`;
const CONCLUDE = /* GraphQL */ `mutation ConcludeReview($input: ConcludeBatchReviewInput!, $signature: SignatureInput!) {
  concludeBatchReview(input: $input, signature: $signature) { opinion concludedBy }
}`;
const RECORD = /* GraphQL */ `query RecordPdf($batchNumber: String!) {
  exportBatchRecord(batchNumber: $batchNumber, format: PDF) { filename contentType data }
}`;
const KINDS: ReviewKind[] = ["PHASE_EXCEPTION", "ALARM", "DEVIATION", "MANUAL_ENTRY", "DATA_CHANGE"];

type Review = BatchReviewQuery["batchReview"];

export async function mountBatches(main: HTMLElement, batchNumber: string): Promise<() => void> {
  const list = await gql<ReviewBatchesQuery>(BATCHES);
  const side = h("nav", { class: "batch-list", "aria-label": t("review.batches") },
    ...list.batches.edges.map(({ node: b }) => h("a", {
      href: `#/batches/${encodeURIComponent(b.batchNumber)}`, class: b.batchNumber === batchNumber ? "active" : "",
      "data-batch": b.batchNumber, "data-status": b.status,
    }, h("strong", null, b.batchNumber), h("span", { class: "muted" }, ` ${b.product} · ${enumLabel("BatchStatus", b.status)}`))));
  const panel = h("section", { class: "batch-review", "data-testid": "batch-review" });
  main.replaceChildren(h("div", { class: "batches" }, side, panel));
  if (!batchNumber) {
    panel.append(h("p", { class: "muted" }, t("review.choose")));
    return () => undefined;
  }
  const shown = new Set<ReviewKind>(KINDS);
  let unreviewedOnly = false;
  const load = async (): Promise<void> => {
    const d = await gql<BatchReviewQuery, BatchReviewQueryVariables>(REVIEW,
      { batchNumber, kinds: [...shown], unreviewedOnly });
    panel.replaceChildren(render(d.batchReview));
  };

  function render(r: Review): HTMLElement {
    const err = errorBox();
    const filters = h("div", { class: "filters", role: "group", "aria-label": t("review.show") },
      ...KINDS.map((k) => {
        const box = h("input", { type: "checkbox", name: `kind-${k}`, checked: shown.has(k) });
        box.addEventListener("change", () => { box.checked ? shown.add(k) : shown.delete(k); void load(); });
        return h("label", null, box, ` ${enumLabel("ReviewKind", k)}`);
      }),
      (() => {
        const box = h("input", { type: "checkbox", name: "unreviewed", checked: unreviewedOnly });
        box.addEventListener("change", () => { unreviewedOnly = box.checked; void load(); });
        return h("label", null, box, t("review.unreviewedOnly"));
      })());
    const picks = new Map<string, HTMLInputElement>();
    const rows = r.items.map((i) => {
      const pick = h("input", { type: "checkbox", "aria-label": t("review.select", { key: i.key }), disabled: i.reviewed });
      picks.set(i.key, pick);
      const trail = h("div", { class: "item-audit", hidden: true });
      const open = h("button", { type: "button", class: "small", "data-audit": i.key }, t("review.auditTrail"));
      open.addEventListener("click", () => void showTrail(i.entity, i.entityId, trail));
      return [h("tr", { "data-key": i.key, class: i.reviewed ? "reviewed" : "" },
        h("td", null, pick), h("td", null, enumLabel("ReviewKind", i.kind)), h("td", null, fmtTime(i.at)),
        h("td", null, i.phaseCode ?? ""), h("td", null, i.summary, i.open ? h("span", { class: "badge" }, t("review.openBadge")) : ""),
        h("td", { class: "conclusion" }, i.reviewed ? `${i.conclusion} (${i.reviewedBy})` : ""), h("td", null, open)),
      h("tr", { class: "audit-row" }, h("td", { colspan: "7" }, trail))];
    }).flat();
    const conclusion = h("textarea", { name: "conclusion", rows: "2", placeholder: t("review.conclusionPlaceholder") });
    const sign = h("button", { type: "button", class: "primary" }, t("review.signConclusion"));
    sign.addEventListener("click", () => {
      err.clear();
      const keys = [...picks].filter(([, b]) => b.checked).map(([k]) => k);
      if (!keys.length) return err.show(t("review.needItems"));
      if (!conclusion.value.trim()) return err.show(t("review.needConclusion"));
      void busy(sign, t("sign.signing"), async () => {
        await sendSigned<ReviewItemsMutation, ReviewItemsMutationVariables>({
          operation: "reviewBatchItems", document: REVIEW_ITEMS, meaning: "REVIEWED",
          input: { batchNumber: r.batchNumber, keys, conclusion: conclusion.value.trim() } });
        toast(t("review.reviewed", { n: keys.length }));
        await load();
      }, (e) => err.show(refusal(e)));
    });
    const opinion = h("textarea", { name: "opinion", rows: "2", placeholder: t("review.opinionPlaceholder") });
    const conclude = h("button", { type: "button", class: "primary", "data-testid": "conclude" }, t("review.conclude"));
    conclude.addEventListener("click", () => {
      err.clear();
      if (!opinion.value.trim()) return err.show(t("review.needOpinion"));
      void busy(conclude, t("sign.signing"), async () => {
        await sendSigned<ConcludeReviewMutation, ConcludeReviewMutationVariables>({
          operation: "concludeBatchReview", document: CONCLUDE, meaning: "REVIEWED",
          input: { batchNumber: r.batchNumber, opinion: opinion.value.trim() } });
        toast(t("review.concluded"));
        await load();
      }, (e) => err.show(refusal(e)));
    });
    const pdf = h("button", { type: "button", class: "small", "data-testid": "record-pdf" }, t("review.recordPdf"));
    pdf.addEventListener("click", () => void busy(pdf, t("common.preparing"), async () => {
      const f = (await gql<RecordPdfQuery, RecordPdfQueryVariables>(RECORD, { batchNumber: r.batchNumber })).exportBatchRecord;
      saveFile(f.data, f.contentType, f.filename); // the export is audited on the server (PR-53)
    }, (e) => err.show(refusal(e))));
    return h("div", null,
      h("div", { class: "list-head" }, h("h2", null, t("review.title", { batch: r.batchNumber, status: enumLabel("BatchStatus", r.status) })), h("span", { class: "spacer" }),
        can("batch:record", "export") ? pdf : ""),
      h("p", { class: "muted", "data-testid": "review-counts" },
        t("review.counts", { total: r.total, unreviewed: r.unreviewed })),
      r.blockers.length ? h("ul", { class: "blockers", "aria-label": t("review.blockers") }, ...r.blockers.map((b) => h("li", null, b)))
        : h("p", { class: "ok" }, t("review.noBlockers")),
      filters,
      r.items.length ? h("table", { class: "review-items" },
        h("thead", null, h("tr", null, ...["", t("review.col.kind"), t("review.col.when"), t("review.col.phase"), t("review.col.what"), t("review.col.conclusion"), ""]
          .map((x) => h("th", null, x)))),
        h("tbody", null, ...rows)) : h("p", { class: "muted" }, t("review.none")),
      can("batch:review", "write") ? h("div", null, field(t("review.col.conclusion"), conclusion), sign) : "",
      r.conclusion ? h("p", { class: "ok", "data-testid": "review-concluded" },
        t("review.concludedBy", { by: r.conclusion.concludedBy, opinion: r.conclusion.opinion }))
        : can("batch:review", "write") ? h("div", null, field(t("review.opinion"), opinion), conclude) : "",
      err.el,
      decisionPanel(r.batchNumber, r.status, r.conclusion !== null && r.conclusion !== undefined, () => void load()));
  }

  async function showTrail(entity: string, entityId: string, box: HTMLElement): Promise<void> {
    box.hidden = !box.hidden;
    if (box.hidden) return;
    try {
      const d = await gql<ItemAuditQuery>(AUDIT, { entity, entityId });
      box.replaceChildren(h("ol", null, ...d.auditTrail.edges.map(({ node: e }) =>
        h("li", null, `${fmtTime(e.occurredAt)} ${e.actor} ${e.action}${e.reason ? `: ${e.reason}` : ""}`))));
    } catch (e) {
      box.replaceChildren(h("p", { class: "error-box" }, refusal(e)));
    }
  }

  await load();
  return () => undefined;
}
