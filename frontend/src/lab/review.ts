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
    root.replaceChildren(h("p", { class: "muted" }, "Loading the queue…"));
    try {
      const q = (await gql<QcReviewQueueQuery>(QUEUE)).qcReviewQueue;
      const open = (r: Rec, build: (r: Rec) => HTMLElement) => root.replaceChildren(h("div", { class: "lab-detail" },
        h("button", { type: "button", class: "big", onClick: () => void load() }, "Back to the queue"),
        heading(r), linesTable(r.results), build(r)));
      root.replaceChildren(h("div", { class: "lab-list" },
        h("h2", null, "Test records to review"),
        ...(q.toReview.length ? q.toReview.map((r) => card(r, "Open", () => open(r, (x) => reviewForm(x, load))))
          : [h("p", { class: "muted" }, "Nothing to review.")]),
        h("h2", null, "Test reports to issue"),
        ...(q.toIssue.length ? q.toIssue.map((d) => card(d.record, d.reportStatus === "REISSUE_REQUIRED"
          ? `Reissue (version ${d.reportVersion} flagged)` : "Issue the report", () => open(d.record, issuePanel)))
          : [h("p", { class: "muted" }, "No reviewed record waits for its report.")])));
    } catch (e) {
      root.replaceChildren(h("div", { class: "error-box", role: "alert" }, refusal(e)));
    }
  };
  void load();
  return root;
}

function heading(r: Rec): HTMLElement {
  return h("div", null, h("h2", null, `${r.batchNumber} · ${r.stage} ${r.subjectCode}`),
    h("p", { class: "muted" }, `Test record ${r.id} · specification ${r.specificationCode} v${r.specificationVersion} · ` +
      `${r.status}${r.reviewedBy ? ` by ${r.reviewedBy}` : ""}`));
}

function card(r: Rec, action: string, go: () => void): HTMLElement {
  const current = r.results.filter((l) => l.current);
  const failed = current.filter((l) => l.verdict !== "PASS").length;
  return h("article", { class: "lab-card", "data-record": r.id, "data-batch": r.batchNumber },
    h("h3", null, `${r.batchNumber} · ${r.stage} ${r.subjectCode}`),
    h("p", { class: "muted" }, `${current.length} result(s) by ${[...new Set(current.map((l) => l.analyst))].join(", ")}` +
      (failed ? ` · ${failed} not PASS` : "")),
    h("button", { type: "button", class: "big primary", onClick: go }, action));
}

function reviewForm(r: Rec, done: () => Promise<void>): HTMLElement {
  const err = errorBox();
  const comment = h("textarea", { name: "comment", rows: 3, placeholder: "What you checked (raw data, calculations)" });
  const submit = h("button", { type: "submit", class: "primary big", "data-testid": "review" }, "Sign the review (REVIEWED)");
  const f = h("form", { class: "tablet-form" }, field("Review comment", comment), signatureLine("REVIEWED"), err.el, submit);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    if (!comment.value.trim()) return err.show("Write what you checked.");
    void busy(submit, "Signing…", async () => {
      await sendSigned<ReviewTestRecordMutation, ReviewTestRecordMutationVariables>({ operation: "reviewTestRecord",
        document: REVIEW, meaning: "REVIEWED", input: { recordId: r.id, comment: comment.value.trim() } });
      toast(`Test record ${r.id} reviewed`);
      await done();
    }, (e) => err.show(refusal(e)));
  });
  return f;
}

function issuePanel(r: Rec): HTMLElement {
  const err = errorBox();
  const box = h("section", { class: "tablet-form", "data-testid": "issue-report" });
  const issue = h("button", { type: "button", class: "primary big", "data-testid": "issue" }, "Sign and issue the test report (APPROVED)");
  issue.addEventListener("click", () => {
    err.clear();
    void busy(issue, "Sealing the report…", async () => {
      const signer = await currentSigner();
      const p = (await gql<PrepareTestReportMutation, PrepareTestReportMutationVariables>(PREPARE, { recordId: r.id }))
        .prepareTestReport;
      if (p.algorithm !== signer.algorithm) {
        throw new SignerUnavailable(`the test report needs a ${p.algorithm} signature; this key is ${signer.algorithm}`);
      }
      issue.textContent = "Signing…";
      const cms = toBase64(await signer.sign(fromBase64(p.toSign)));
      const d = (await sendSigned<CompleteTestReportMutation, CompleteTestReportMutationVariables>({
        operation: "completeTestReport", document: COMPLETE, meaning: "APPROVED",
        input: { documentId: p.documentId, cmsSignature: cms } })).completeTestReport;
      box.replaceChildren(h("div", { class: "tablet-result ok", role: "status", "data-testid": "issued" },
        h("h3", null, `Test report ${d.documentId} version ${d.version} ${d.status.toLowerCase()}`),
        h("p", null, `${d.conclusion.replaceAll("_", " ").toLowerCase()} · issued by ${d.issuedBy ?? ""} · ` +
          `${d.signatures.filter((s) => s.intact && s.trusted).length} of ${d.signatures.length} signatures intact and trusted`),
        h("a", { href: fileUrl(d.pdf, "application/pdf"), download: `${d.documentId}.pdf` }, "Download the test report (PDF)")));
      toast(`Test report ${d.documentId} version ${d.version} issued`);
    }, (e) => err.show(refusal(e)));
  });
  box.append(h("p", null, "Issuing seals the report with the organisation's key and embeds your PAdES signature."),
    signatureLine("APPROVED"), issue, err.el);
  return box;
}
