/**
 * Instrument import (QC-08): the analyst picks a plate reader's or PCR run's export, names the kit lot and
 * test item, signs PERFORMED and sees the run as the server computed it: the plate map with each well's
 * outcome, the cut-off and validity, the raw file's SHA-256, and the pool results written. A reviewer opens a
 * run by its number and signs it REVIEWED.
 */

import type {
  CompareInstrumentRunQuery, CompareInstrumentRunQueryVariables, ImportInstrumentRunMutation, ImportInstrumentRunMutationVariables, InstrumentRunKind, InstrumentRunQuery,
  InstrumentRunQueryVariables, ReprocessInstrumentRunMutation, ReprocessInstrumentRunMutationVariables, RetestItem, ReviewInstrumentRunMutation,
  ReviewInstrumentRunMutationVariables,
} from "../api/generated";
import { gql } from "../api/gql";
import { session } from "../api/session";
import { h } from "../dom";
import { sendSigned } from "../sign/keyring";
import { toBase64 } from "../sign/signer";
import { busy, field, refusal } from "../tablet/common";
import { signatureLine } from "../ui/ackDialog";
import { fileUrl } from "../ui/files";
import { errorBox, toast } from "../ui/modal";
import { plateMap } from "./plate";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

/** Every document that shows a run reads the same fields through this fragment. */
const RUN_FIELDS = /* GraphQL */ `fragment RunFields on InstrumentRun {
  id kind instrumentId testItem kitLot analyst importedAt status invalidReason runLabel rawSha256
  parser parserVersion cutoff reviewedBy reviewedAt
  rawFile { filename contentType data }
  wells { position content role target value ic ratio outcome }
  processings { number parserVersion valid cutoff processedBy reason }
  poolResults { poolKind poolCode units test result outcome value reviewedBy } }`;
const IMPORT = /* GraphQL */ `mutation ImportInstrumentRun($input: ImportInstrumentRunInput!, $signature: SignatureInput!) {
  importInstrumentRun(input: $input, signature: $signature) {
    ...RunFields }
}
${RUN_FIELDS}`;
const ONE = /* GraphQL */ `query InstrumentRun($id: Int!) { instrumentRun(id: $id) {
    ...RunFields } }
${RUN_FIELDS}`;
const REVIEW = /* GraphQL */ `mutation ReviewInstrumentRun($input: ReviewInstrumentRunInput!, $signature: SignatureInput!) {
  reviewInstrumentRun(input: $input, signature: $signature) {
    ...RunFields }
}
${RUN_FIELDS}`;
const REPROCESS = /* GraphQL */ `mutation ReprocessInstrumentRun($input: ReprocessInstrumentRunInput!, $signature: SignatureInput!) {
  reprocessInstrumentRun(input: $input, signature: $signature) {
    ...RunFields }
}
${RUN_FIELDS}`;
const COMPARE = /* GraphQL */ `query CompareInstrumentRun($id: Int!, $version: String) {
  compareInstrumentRun(id: $id, parserVersion: $version) {
    parser parserVersion valid invalidReason cutoff changed original { number parserVersion cutoff }
    wells { position content target originalRatio originalOutcome ratio outcome changed }
  }
}`;

type Run = NonNullable<InstrumentRunQuery["instrumentRun"]>;
const ITEMS: Record<InstrumentRunKind, RetestItem[]> = { ELISA: ["HBSAG", "ANTI_HCV", "ANTI_HIV", "SYPHILIS"], PCR: ["NAT"] };

export function importScreen(): HTMLElement {
  const root = h("section", { class: "tablet-screen lab", "data-screen": "import" });
  const show = (run: Run) => root.replaceChildren(runView(run, () => root.replaceChildren(...start())));
  const start = (): HTMLElement[] => {
    const roles = session.viewer?.roles ?? [];
    return [roles.includes("qc_analyst") ? importForm(show) : h("p", { class: "muted" }, t("import.analystsOnly")),
      openForm(show)];
  };
  root.replaceChildren(...start());
  return root;
}

function importForm(done: (run: Run) => void): HTMLElement {
  const err = errorBox();
  const file = h("input", { type: "file", name: "file", accept: ".csv,.txt,text/csv,text/plain", required: true });
  const kind = h("select", { name: "kind" }, ...(["ELISA", "PCR"] as const).map((k) => h("option", { value: k }, k)));
  const item = h("select", { name: "testItem" });
  const fillItems = () => item.replaceChildren(...ITEMS[kind.value as InstrumentRunKind].map((i) => h("option", { value: i }, i)));
  kind.addEventListener("change", fillItems);
  fillItems();
  const instrument = h("input", { name: "instrument", autocomplete: "off", required: true, placeholder: t("import.instrumentPlaceholder") });
  const kitLot = h("input", { name: "kitLot", autocomplete: "off", required: true, placeholder: t("import.kitLotPlaceholder") });
  const pools = h("textarea", { name: "miniPools", rows: 2, placeholder: t("import.poolsPlaceholder") });
  let bytes: Uint8Array | null = null;
  file.addEventListener("change", () => void (async () => {
    err.clear();
    const f = file.files?.[0];
    bytes = f ? new Uint8Array(await f.arrayBuffer()) : null;
    if (!bytes) return;
    // The header names the instrument and the format: fill them in; the server checks they match.
    const head = new TextDecoder().decode(bytes.subarray(0, 2048));
    const named = /^Instrument,([^,\r\n]+)/m.exec(head);
    if (named && !instrument.value) instrument.value = named[1].trim();
    if (/^Format,pcr/im.test(head)) { kind.value = "PCR"; fillItems(); }
  })());
  const submit = h("button", { type: "submit", class: "primary big", "data-testid": "import" }, t("import.submit"));
  const f = h("form", { class: "tablet-form", "data-testid": "import-form" },
    h("h2", null, t("import.title")),
    field(t("import.file"), file, t("import.fileHint")),
    field(t("review.col.kind"), kind), field(t("import.testItem"), item), field(t("import.instrument"), instrument),
    field(t("import.kitLot"), kitLot),
    field(t("import.pools"), pools, t("import.poolsHint")),
    signatureLine("PERFORMED"), err.el, submit);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    const chosen = file.files?.[0];
    if (!chosen || !bytes) return err.show(t("import.needFile"));
    if (!instrument.value.trim() || !kitLot.value.trim()) return err.show(t("import.needInstrument"));
    const miniPools = pools.value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const [code, rest = ""] = l.split(":");
      return { code: code.trim(), donationNumbers: rest.split(/[\s,;]+/).filter(Boolean) };
    });
    const data = toBase64(bytes);
    void busy(submit, t("sign.signing"), async () => {
      const d = await sendSigned<ImportInstrumentRunMutation, ImportInstrumentRunMutationVariables>({
        operation: "importInstrumentRun", document: IMPORT, input: {
          instrumentId: instrument.value.trim(), kind: kind.value as InstrumentRunKind,
          testItem: item.value as RetestItem, kitLot: kitLot.value.trim(), filename: chosen.name, data, miniPools,
        } });
      toast(t("import.imported", { id: d.importInstrumentRun.id }));
      done(d.importInstrumentRun);
    }, (e) => err.show(refusal(e)));
  });
  return f;
}

function openForm(done: (run: Run) => void): HTMLElement {
  const err = errorBox();
  const id = h("input", { name: "runId", inputmode: "numeric", autocomplete: "off", placeholder: t("import.runNumber") });
  const go = h("button", { type: "submit", class: "big" }, t("import.openRun"));
  const f = h("form", { class: "tablet-form", "data-testid": "open-run" }, h("h2", null, t("import.openTitle")), field(t("import.run"), id), err.el, go);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    const n = Number(id.value.trim());
    if (!Number.isInteger(n) || n < 1) return err.show(t("import.needRun"));
    void busy(go, t("common.loading"), async () => {
      const run = (await gql<InstrumentRunQuery, InstrumentRunQueryVariables>(ONE, { id: n })).instrumentRun;
      if (!run) return err.show(t("import.noRun", { n }));
      done(run);
    }, (e) => err.show(refusal(e)));
  });
  return f;
}

function runView(run: Run, back: () => void): HTMLElement {
  const current = run.processings[run.processings.length - 1];
  const valid = run.status !== "INVALID";
  return h("div", { class: "lab-detail", "data-testid": "instrument-run", "data-run": run.id, "data-status": run.status },
    h("button", { type: "button", class: "big", onClick: back }, t("import.another")),
    h("h2", null, t("import.runTitle", { id: run.id, kind: enumLabel("InstrumentRunKind", run.kind), item: run.testItem, label: run.runLabel })),
    h("div", { class: `tablet-result ${valid ? "ok" : "bad"}`, role: "status", "data-testid": "run-validity" },
      h("strong", null, valid ? t("import.valid", { status: enumLabel("InstrumentRunStatus", run.status) }) : t("import.invalid")),
      run.invalidReason ? h("p", null, run.invalidReason) : null),
    h("dl", { class: "facts" },
      ...fact(t("import.cutoff"), run.cutoff ?? "—", "cutoff"),
      ...fact(t("import.instrument"), run.instrumentId), ...fact(t("import.kitLot"), run.kitLot),
      ...fact(t("lab.col.analyst"), run.analyst), ...fact(t("import.rule"), t("import.ruleVersion", { parser: run.parser, version: run.parserVersion }) +
        (current && current.number > 1 ? t("import.processing", { n: current.number, reason: current.reason }) : "")),
      ...fact(t("import.reviewed"), run.reviewedBy ?? t("import.notYet")),
      ...fact(t("import.sha"), run.rawSha256, "sha256"),
      ...fact(t("import.rawFile"), h("a", { href: fileUrl(run.rawFile.data, run.rawFile.contentType), download: run.rawFile.filename },
        run.rawFile.filename))),
    plateMap(run.wells, run.kind),
    h("h3", null, t("import.poolResults")),
    run.poolResults.length ? h("table", { class: "lab-lines", "data-testid": "pool-results" },
      h("thead", null, h("tr", null, ...["pool", "kind", "units", "result", "value", "reviewed"].map((c) => h("th", null, t(`import.col.${c}`))))),
      h("tbody", null, ...run.poolResults.map((p) => h("tr", { class: `outcome-${p.outcome}` },
        h("td", null, p.poolCode), h("td", null, p.poolKind), h("td", null, p.units.join(", ") || "—"),
        h("td", null, enumLabel("WellOutcome", p.outcome)), h("td", null, p.value ?? "—"), h("td", null, p.reviewedBy ?? "—")))))
      : h("p", { class: "muted" }, t("import.noPool")),
    session.viewer?.roles.includes("qc_analyst") ? comparePanel(run, replace) : null,
    run.status === "IMPORTED" && session.viewer?.roles.includes("qc_reviewer") ? reviewForm(run, replace) : null);

  function replace(r: Run): void {
    document.querySelector("[data-testid=instrument-run]")?.replaceWith(runView(r, back));
  }
}

/** The kept raw file processed again by a rule version beside the processing in effect (nothing written);
 * confirmed with a reason and a signature, the new processing takes effect and the original stays. */
function comparePanel(run: Run, done: (run: Run) => void): HTMLElement {
  const err = errorBox();
  const version = h("input", { name: "parserVersion", autocomplete: "off", placeholder: t("import.versionPlaceholder") });
  const compare = h("button", { type: "submit", class: "big" }, t("import.compare"));
  const out = h("div", { "data-testid": "comparison" });
  const f = h("form", { class: "tablet-form", "data-testid": "compare-run" },
    h("h3", null, t("import.again")), field(t("import.ruleVersionLabel"), version), err.el, compare, out);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    void busy(compare, t("import.processingBusy"), async () => {
      const c = (await gql<CompareInstrumentRunQuery, CompareInstrumentRunQueryVariables>(COMPARE,
        { id: run.id, version: version.value.trim() || null })).compareInstrumentRun;
      const reason = h("textarea", { name: "reason", rows: 2, placeholder: t("import.reasonPlaceholder") });
      const confirm = h("button", { type: "button", class: "primary big", "data-testid": "reprocess" },
        t("import.reprocess", { version: c.parserVersion }));
      confirm.addEventListener("click", () => {
        err.clear();
        if (!reason.value.trim()) return err.show(t("import.needReason"));
        void busy(confirm, t("sign.signing"), async () => {
          const d = await sendSigned<ReprocessInstrumentRunMutation, ReprocessInstrumentRunMutationVariables>({
            operation: "reprocessInstrumentRun", document: REPROCESS,
            input: { runId: run.id, parserVersion: c.parserVersion, reason: reason.value.trim() } });
          toast(t("import.reprocessed", { id: run.id, version: c.parserVersion }));
          done(d.reprocessInstrumentRun);
        }, (e) => err.show(refusal(e)));
      });
      const changed = c.wells.filter((w) => w.changed);
      out.replaceChildren(
        h("p", { "data-testid": "compare-summary" }, t("import.compareSummary", {
          rule: t("import.ruleVersion", { parser: c.parser, version: c.parserVersion }), n: c.original.number,
          original: c.original.parserVersion,
          validity: c.valid ? t("import.validCutoff", { cutoff: c.cutoff ?? "—" }) : t("import.invalidWhy", { reason: c.invalidReason ?? "" }),
          changes: c.changed.length ? t("import.changed", { list: c.changed.join(", ") }) : t("import.noChanges") })),
        changed.length ? h("table", { class: "lab-lines" },
          h("thead", null, h("tr", null, ...["well", "sample", "before", "now"].map((c) => h("th", null, t(`import.col.${c}`))))),
          h("tbody", null, ...changed.map((w) => h("tr", { "data-changed": w.position },
            h("td", null, w.position), h("td", null, `${w.content}${w.target ? ` ${w.target}` : ""}`),
            h("td", null, `${w.originalOutcome ?? "—"} (${w.originalRatio ?? "—"})`),
            h("td", null, `${enumLabel("WellOutcome", w.outcome)} (${w.ratio ?? "—"})`))))) : "",
        c.valid && c.changed.length ? h("div", null, field(t("common.reason"), reason), signatureLine("PERFORMED"), confirm) : "");
    }, (e) => err.show(refusal(e)));
  });
  return f;
}

function fact(term: string, value: string | HTMLElement, testid?: string): HTMLElement[] {
  return [h("dt", null, term), h("dd", testid ? { "data-testid": testid } : null, value)];
}

function reviewForm(run: Run, done: (run: Run) => void): HTMLElement {
  const err = errorBox();
  const comment = h("textarea", { name: "comment", rows: 2, placeholder: t("import.reviewPlaceholder") });
  const submit = h("button", { type: "submit", class: "primary big", "data-testid": "review-run" }, t("labReview.sign"));
  const f = h("form", { class: "tablet-form" }, field(t("labReview.comment"), comment), signatureLine("REVIEWED"), err.el, submit);
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.clear();
    if (!comment.value.trim()) return err.show(t("labReview.needComment"));
    void busy(submit, t("sign.signing"), async () => {
      const d = await sendSigned<ReviewInstrumentRunMutation, ReviewInstrumentRunMutationVariables>({
        operation: "reviewInstrumentRun", document: REVIEW, meaning: "REVIEWED",
        input: { runId: run.id, comment: comment.value.trim() } });
      done(d.reviewInstrumentRun);
    }, (e) => err.show(refusal(e)));
  });
  return f;
}
