/** The audit trail for QA, the QP and audit administrators (and a regulator's token: the server keeps it to the
 * records in its scope): filtered by entity, actor and time, read page by page (newest first), and the loaded
 * rows exported as CSV. Read-only: nothing here writes. */

import type { AuditPageQuery, AuditPageQueryVariables } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { has, t } from "../i18n";

const PAGE = 50;
const QUERY = /* GraphQL */ `query AuditPage($filter: AuditFilter, $first: Int, $after: String) {
  auditTrail(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id occurredAt actor action entity entityId changes reason clientAddress } }
  }
}`;

type Event = AuditPageQuery["auditTrail"]["edges"][number]["node"];
type Filter = NonNullable<AuditPageQueryVariables["filter"]>;

/** A local "datetime-local" value as the instant the server compares (UTC), or null when empty. */
function instant(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** One CSV cell (RFC 4180); a leading = + - @ is quoted with ' so a spreadsheet does not run it as a formula. */
function cell(v: unknown): string {
  let s = v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: Event[]): string {
  const head = ["id", "occurredAt", "actor", "action", "entity", "entityId", "reason", "clientAddress", "changes"];
  const lines = rows.map((e) => [e.id, e.occurredAt, e.actor, e.action, e.entity, e.entityId, e.reason,
    e.clientAddress, e.changes].map(cell).join(","));
  // The byte-order mark lets spreadsheet programs read Chinese names as UTF-8; times stay UTC as recorded.
  return `\ufeff${[head.join(","), ...lines].join("\r\n")}\r\n`;
}

function download(text: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function changesText(changes: unknown): string {
  const s = JSON.stringify(changes ?? {});
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}

export function mountAudit(root: HTMLElement): () => void {
  const entity = h("input", { name: "entity", spellcheck: "false", placeholder: t("audit.entityPlaceholder") });
  const actor = h("input", { name: "actor", spellcheck: "false", autocapitalize: "none" });
  const from = h("input", { name: "from", type: "datetime-local", step: "1" });
  const to = h("input", { name: "to", type: "datetime-local", step: "1" });
  const apply = h("button", { type: "submit", class: "primary" }, t("audit.apply"));
  const reset = h("button", { type: "reset" }, t("audit.clear"));
  const exportBtn = h("button", { type: "button", "data-testid": "audit-export", disabled: true }, t("audit.export"));
  const form = h("form", { class: "audit-filter", "data-testid": "audit-filter" },
    h("label", { class: "field" }, h("span", null, t("audit.entity")), entity),
    h("label", { class: "field" }, h("span", null, t("audit.actor")), actor),
    h("label", { class: "field" }, h("span", null, t("audit.from")), from),
    h("label", { class: "field" }, h("span", null, t("audit.to")), to),
    h("div", { class: "audit-actions" }, apply, reset, exportBtn));
  const status = h("p", { class: "muted", "data-testid": "audit-count", role: "status" }, t("common.loading"));
  const err = h("div", { class: "error-box", role: "alert", hidden: true });
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true, "data-testid": "audit-more" }, t("audit.more"));
  const table = h("table", { class: "audit-table", "data-testid": "audit-table" },
    h("thead", null, h("tr", null, h("th", null, t("audit.col.time")), h("th", null, t("audit.col.actor")),
      h("th", null, t("audit.col.action")), h("th", null, t("audit.col.entity")), h("th", null, t("audit.col.reason")),
      h("th", null, t("audit.col.changes")))),
    body);
  root.replaceChildren(h("section", { class: "audit-view" },
    h("h1", null, t("audit.title")), h("p", { class: "muted" }, t("audit.intro")),
    form, err, status, h("div", { class: "table-scroll" }, table), more));

  let rows: Event[] = [];
  let total = 0;
  let cursor: string | null = null;
  let filter: Filter = {};
  let disposed = false;

  // The action in the reader's language; the recorded code stays as the tooltip and in the export.
  const actionLabel = (code: string) => (has(`audit.action.${code}`) ? t(`audit.action.${code}`) : code);
  const row = (e: Event) => h("tr", { "data-audit-id": e.id },
    h("td", { class: "num" }, fmtTime(e.occurredAt)), h("td", null, e.actor),
    h("td", { class: "audit-action", title: e.action }, actionLabel(e.action)),
    h("td", null, e.entityId ? `${e.entity} #${e.entityId}` : e.entity), h("td", null, e.reason ?? ""),
    h("td", { class: "audit-changes", title: JSON.stringify(e.changes ?? {}) }, changesText(e.changes)));

  async function load(next: boolean): Promise<void> {
    apply.disabled = more.disabled = true;
    err.hidden = true;
    try {
      const d = (await gql<AuditPageQuery, AuditPageQueryVariables>(QUERY,
        { filter, first: PAGE, after: next ? cursor : null })).auditTrail;
      if (disposed) return;
      const page = d.edges.map((x) => x.node);
      rows = next ? [...rows, ...page] : page;
      total = d.totalCount;
      cursor = d.pageInfo.endCursor ?? null;
      body.replaceChildren(...rows.map(row));
      if (!rows.length) body.append(h("tr", null, h("td", { colspan: 6, class: "muted" }, t("audit.none"))));
      more.hidden = !d.pageInfo.hasNextPage;
      status.textContent = t("audit.count", { shown: rows.length, total });
      exportBtn.disabled = rows.length === 0;
    } catch (e) {
      err.hidden = false;
      err.textContent = t("audit.failed", { error: errorText(e) });
      status.textContent = "";
    } finally {
      apply.disabled = more.disabled = false;
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    filter = { entity: entity.value.trim() || null, actor: actor.value.trim() || null,
      from: instant(from.value), to: instant(to.value) };
    void load(false);
  });
  form.addEventListener("reset", () => {
    filter = {};
    setTimeout(() => void load(false), 0);
  });
  more.addEventListener("click", () => void load(true));
  exportBtn.addEventListener("click", () => {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    download(toCsv(rows), `audit-trail-${stamp}.csv`);
  });
  void load(false);
  return () => { disposed = true; };
}
