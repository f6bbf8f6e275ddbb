/**
 * The QC reviewer's queue: records to review (only those the reviewer entered no result in), signed
 * REVIEWED; reviewed records whose report is not issued, or waits for reissue after a correction, issued
 * as the QP's release is: the server seals the PDF, the reviewer's own key signs its PAdES bytes here.
 */

import type {
  CompleteTestReportMutation, CompleteTestReportMutationVariables, PrepareTestReportMutation,
  PrepareTestReportMutationVariables, QcReviewQueueQuery, ReviewTestRecordMutation, ReviewTestRecordMutationVariables,
} from "../api/generated";
import { gql } from "../api/gql";
import { h } from "../dom";
import { currentSigner, sendSigned } from "../sign/keyring";
import { fromBase64, SignerUnavailable, toBase64 } from "../sign/signer";
import { busy, field, refusal } from "../tablet/common";
import { signatureLine } from "../ui/ackDialog";
import { fileUrl } from "../ui/files";
import { errorBox, toast } from "../ui/modal";
import { linesTable } from "./lines";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

const QUEUE = /* GraphQL */ `query QcReviewQueue {
  qcReviewQueue {
    toReview { id batchNumber stage subjectCode specificationCode specificationVersion status reviewedBy
      results { id item raw inputs { name value } reported verdict analyst enteredAt current replacesId correctionReason } }
    toIssue { reportStatus reportVersion
      record { id batchNumber stage subjectCode specificationCode specificationVersion status reviewedBy
        results { id item raw inputs { name value } reported verdict analyst enteredAt current replacesId correctionReason } } }
  }
}`;
const REVIEW = /* GraphQL */ `mutation ReviewTestRecord($input: ReviewTestRecordInput!, $signature: SignatureInput!) {
  reviewTestRecord(input: $input, signature: $signature) { id status reviewedBy }
}`;
const PREPARE = /* GraphQL */ `mutation PrepareTestReport($recordId: Int!) {
  prepareTestReport(recordId: $recordId) { documentId version algorithm toSign }
}`;
const COMPLETE = /* GraphQL */ `mutation CompleteTestReport($input: CompleteTestReportInput!, $signature: SignatureInput!) {
  completeTestReport(input: $input, signature: $signature) { documentId version status conclusion issuedBy pdf
    signatures { signer intact trusted } }
}`;

type Rec = QcReviewQueueQuery["qcReviewQueue"]["toReview"][number];

export function reviewScreen(): HTMLElement {
  const root = h("section", { class: "tablet-screen lab", "data-screen": "review" });
  const load = async (): Promise<void> => {
    root.replaceChildren(h("p", { class: "muted" }, t("labReview.loading")));
    try {
      const q = (await gql<QcReviewQueueQuery>(QUEUE)).qcReviewQueue;
      const open = (r: Rec, build: (r: Rec) => HTMLElement) => root.replaceChildren(h("div", { class: "lab-detail" },
        h("button", { type: "button", class: "big", onClick: () => void load() }, t("labReview.back")),
        heading(r), linesTable(r.results), build(r)));
      root.replaceChildren(h("div", { class: "lab-list" },
        h("h2", null, t("labReview.toReview")),
        ...(q.toReview.length ? q.toReview.map((r) => card(r, t("common.open"), () => open(r, (x) => reviewForm(x, load))))
          : [h("p", { class: "muted" }, t("labReview.nothing"))]),
        h("h2", null, t("labReview.toIssue")),
        ...(q.toIssue.length ? q.toIssue.map((d) => card(d.record, d.reportStatus === "REISSUE_REQUIRED"
          ? t("labReview.reissue", { version: d.reportVersion }) : t("labReview.issue"), () => open(d.record, issuePanel)))
          : [h("p", { class: "muted" }, t("labReview.noneToIssue"))])));
    } catch (e) {
      root.replaceChildren(h("div", { class: "error-box", role: "alert" }, refusal(e)));
    }
  };
  void load();
  return root;
}

function heading(r: Rec): HTMLElement {
  return h("div", null, h("h2", null, `${r.batchNumber} · ${enumLabel("TestStage", r.stage)} ${r.subjectCode}`),
    h("p", { class: "muted" }, t("worklist.record", { id: r.id, spec: `${r.specificationCode} v${r.specificationVersion}` }) +
      ` · ${enumLabel("TestRecordStatus", r.status)}${r.reviewedBy ? t("labReview.by", { by: r.reviewedBy }) : ""}`));
}

function card(r: Rec, action: string, go: () => void): HTMLElement {
  const current = r.results.filter((l) => l.current);
  const failed = current.filter((l) => l.verdict !== "PASS").length;
  return h("article", { class: "lab-card", "data-record": r.id, "data-batch": r.batchNumber },
    h("h3", null, `${r.batchNumber} · ${enumLabel("TestStage", r.stage)} ${r.subjectCode}`),
    h("p", { class: "muted" }, t("labReview.results", { n: current.length, by: [...new Set(current.map((l) => l.analyst))].join(", ") }) +
      (failed ? t("labReview.notPass", { n: failed }) : "")),
    h("button", { type: "button", class: "big primary", onClick: go }, action));
}

function reviewForm(r: Rec, done: () => Promise<void>): HTMLElement {
  const err = errorBox();
  const comment = h("textarea", { name: "comment", rows: 3, placeholder: t("labReview.commentPlaceholder") });
  const submit = h("button", { type: "submit", class: "primary big", "data-testid": "review" }, t("labReview.sign"));
  const f = h("form", { class: "tablet-form" }, field(t("labReview.comment"), comment), signatureLine("REVIEWED"), err.el, submit);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    if (!comment.value.trim()) return err.show(t("labReview.needComment"));
    void busy(submit, t("sign.signing"), async () => {
      await sendSigned<ReviewTestRecordMutation, ReviewTestRecordMutationVariables>({ operation: "reviewTestRecord",
        document: REVIEW, meaning: "REVIEWED", input: { recordId: r.id, comment: comment.value.trim() } });
      toast(t("labReview.reviewed", { id: r.id }));
      await done();
    }, (e) => err.show(refusal(e)));
  });
  return f;
}

function issuePanel(r: Rec): HTMLElement {
  const err = errorBox();
  const box = h("section", { class: "tablet-form", "data-testid": "issue-report" });
  const issue = h("button", { type: "button", class: "primary big", "data-testid": "issue" }, t("labReview.issueSign"));
  issue.addEventListener("click", () => {
    err.clear();
    void busy(issue, t("labReview.sealing"), async () => {
      const signer = await currentSigner();
      const p = (await gql<PrepareTestReportMutation, PrepareTestReportMutationVariables>(PREPARE, { recordId: r.id }))
        .prepareTestReport;
      if (p.algorithm !== signer.algorithm) {
        throw new SignerUnavailable(t("labReview.wrongAlgorithm", { needed: p.algorithm, key: signer.algorithm }));
      }
      issue.textContent = t("sign.signing");
      const cms = toBase64(await signer.sign(fromBase64(p.toSign)));
      const d = (await sendSigned<CompleteTestReportMutation, CompleteTestReportMutationVariables>({
        operation: "completeTestReport", document: COMPLETE, meaning: "APPROVED",
        input: { documentId: p.documentId, cmsSignature: cms } })).completeTestReport;
      box.replaceChildren(h("div", { class: "tablet-result ok", role: "status", "data-testid": "issued" },
        h("h3", null, t("labReview.reportTitle", { doc: d.documentId, version: d.version, status: enumLabel("ReportStatus", d.status) })),
        h("p", null, t("labReview.reportLine", { conclusion: enumLabel("ReportConclusion", d.conclusion), by: d.issuedBy ?? "",
          ok: d.signatures.filter((s) => s.intact && s.trusted).length, n: d.signatures.length })),
        h("a", { href: fileUrl(d.pdf, "application/pdf"), download: `${d.documentId}.pdf` }, t("labReview.download"))));
      toast(t("labReview.issued", { doc: d.documentId, version: d.version }));
    }, (e) => err.show(refusal(e)));
  });
  box.append(h("p", null, t("labReview.issueIntro")),
    signatureLine("APPROVED"), issue, err.el);
  return box;
}
