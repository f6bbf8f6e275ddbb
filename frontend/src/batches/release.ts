/**
 * The QP's decision (QM-01) once QA concluded the review: release with a PAdES signature made by
 * the QP's own key over the document the server sealed, or reject with the reason. A released
 * batch shows its document, downloadable, with every signature's check.
 */

import type {
  CompleteReleaseMutation, CompleteReleaseMutationVariables, PrepareReleaseMutation, PrepareReleaseMutationVariables,
  RejectMutation, RejectMutationVariables, ReleaseDocQuery, ReleaseDocQueryVariables,
} from "../api/generated";
import { gql } from "../api/gql";
import { session } from "../api/session";
import { fmtTime, h } from "../dom";
import { currentSigner, sendSigned } from "../sign/keyring";
import { fromBase64, SignerUnavailable, toBase64 } from "../sign/signer";
import { busy, field, refusal } from "../tablet/common";
import { signatureLine } from "../ui/ackDialog";
import { fileUrl } from "../ui/files";
import { errorBox, toast } from "../ui/modal";
import { t } from "../i18n";

const PREPARE = /* GraphQL */ `mutation PrepareRelease($batchNumber: String!) {
  prepareRelease(batchNumber: $batchNumber) { documentId algorithm toSign }
}`;
const COMPLETE = /* GraphQL */ `mutation CompleteRelease($input: CompleteReleaseInput!, $signature: SignatureInput!) {
  completeRelease(input: $input, signature: $signature) { documentId status releasedAt }
}`;
const REJECT = /* GraphQL */ `mutation Reject($input: RejectBatchInput!, $signature: SignatureInput!) {
  rejectBatch(input: $input, signature: $signature) { batchNumber status }
}`;
const DOCUMENT = /* GraphQL */ `query ReleaseDoc($batchNumber: String!) {
  releaseDocument(batchNumber: $batchNumber) { documentId status preparedBy releasedAt pdf
    signatures { signer signingTime intact trusted summary } }
}`;

export function decisionPanel(batchNumber: string, status: string, concluded: boolean, reload: () => void): HTMLElement {
  const box = h("section", { class: "qp-decision", "data-testid": "qp-decision" });
  if (status === "RELEASED") {
    void showDocument(batchNumber, box);
    return box;
  }
  if (status !== "UNDER_REVIEW" || !concluded) return box;
  if (!session.viewer?.roles.includes("qualified_person")) {
    box.append(h("p", { class: "muted" }, t("release.waiting")));
    return box;
  }
  const err = errorBox();
  const release = h("button", { type: "button", class: "primary", "data-testid": "release" }, t("release.sign"));
  release.addEventListener("click", () => {
    err.clear();
    void busy(release, t("release.sealing"), async () => {
      const signer = await currentSigner();
      const p = (await gql<PrepareReleaseMutation, PrepareReleaseMutationVariables>(PREPARE, { batchNumber })).prepareRelease;
      if (p.algorithm !== signer.algorithm) {
        throw new SignerUnavailable(t("release.wrongAlgorithm", { needed: p.algorithm, key: signer.algorithm }));
      }
      release.textContent = t("sign.signing");
      const cms = toBase64(await signer.sign(fromBase64(p.toSign)));
      await sendSigned<CompleteReleaseMutation, CompleteReleaseMutationVariables>({ operation: "completeRelease",
        document: COMPLETE, meaning: "RELEASED", input: { documentId: p.documentId, cmsSignature: cms } });
      toast(t("release.released", { batch: batchNumber }));
      reload();
    }, (e) => err.show(refusal(e)));
  });
  const reason = h("textarea", { name: "rejectReason", rows: "2", placeholder: t("release.reasonPlaceholder") });
  const reject = h("button", { type: "button", "data-testid": "reject" }, t("release.reject"));
  reject.addEventListener("click", () => {
    err.clear();
    if (!reason.value.trim()) return err.show(t("release.needReason"));
    void busy(reject, t("sign.signing"), async () => {
      await sendSigned<RejectMutation, RejectMutationVariables>({ operation: "rejectBatch", document: REJECT,
        meaning: "REJECTED", input: { batchNumber, reason: reason.value.trim() } });
      toast(t("release.rejected", { batch: batchNumber }));
      reload();
    }, (e) => err.show(refusal(e)));
  });
  box.append(h("h3", null, t("release.title")),
    h("p", null, t("release.intro")),
    signatureLine("RELEASED"), release, field(t("release.reason"), reason), reject, err.el);
  return box;
}

async function showDocument(batchNumber: string, box: HTMLElement): Promise<void> {
  try {
    const d = (await gql<ReleaseDocQuery, ReleaseDocQueryVariables>(DOCUMENT, { batchNumber })).releaseDocument;
    if (!d) return;
    const url = fileUrl(d.pdf, "application/pdf");
    box.replaceChildren(h("h3", null, t("release.done")),
      h("p", { "data-testid": "released" }, t("release.line", { time: fmtTime(d.releasedAt), doc: d.documentId, by: d.preparedBy })),
      h("a", { href: url, download: `${d.documentId}.pdf` }, t("release.download")),
      h("ul", { class: "doc-signatures" }, ...d.signatures.map((s) =>
        h("li", { class: s.intact && s.trusted ? "ok" : "error" }, `${s.signer ?? "?"} · ${s.signingTime ? fmtTime(s.signingTime) : ""} · ${s.summary}`))));
  } catch (e) {
    box.replaceChildren(h("p", { class: "error-box" }, refusal(e)));
  }
}
