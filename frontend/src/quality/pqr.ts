/** Product quality review (QM-11): a product's year from the records, the batches by status, deviations, OOS and
 * CAPA, and per numeric test item its values over the year's batches charted against the limits, with mean, sd
 * and Cpk. Route: #/quality/review?product=NAME&year=YYYY. */

import type { ProductQualityReviewQuery, ProductQualityReviewQueryVariables, ReviewProductsQuery } from "../api/generated";
import { gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { busy, field, refusal } from "../tablet/common";
import { drawYearTrend } from "./chart";
import { t } from "../i18n";
import { enumLabel, type EnumType } from "../i18n/enums";

const REVIEW = /* GraphQL */ `query ProductQualityReview($product: String!, $year: Int!) {
  productQualityReview(product: $product, year: $year) {
    product year
    batches { batchNumber status startedAt }
    batchesByStatus { status count }
    deviations { number status title batchNumber }
    oos { number status title batchNumber }
    capas { number status title batchNumber }
    trends { specificationCode stage item unit low high mean sd minimum maximum outsideLimits cpk
      points { batchNumber value reported } }
  }
}`;
const PRODUCTS = /* GraphQL */ `query ReviewProducts { batches(first: 200) { edges { node { product } } } }`;

type Review = ProductQualityReviewQuery["productQualityReview"];
type Rec = Review["deviations"][number];

export async function mountReview(panel: HTMLElement, query: URLSearchParams): Promise<() => void> {
  const disposers: (() => void)[] = [];
  const product = h("input", { name: "product", list: "pqr-products", autocomplete: "off", required: true,
    value: query.get("product") ?? "" });
  const year = h("input", { name: "year", inputmode: "numeric", required: true,
    value: query.get("year") ?? String(new Date().getFullYear()) });
  const products = h("datalist", { id: "pqr-products" });
  const submit = h("button", { type: "submit", class: "primary" }, t("pqr.show"));
  const out = h("div", { "data-testid": "pqr" });
  const form = h("form", { class: "pqr-form", "data-testid": "pqr-form" }, field(t("common.product"), product), products,
    field(t("pqr.year"), year), submit);
  panel.replaceChildren(h("div", { class: "list-head" }, h("h2", null, t("pqr.title"))), form, out);
  void gql<ReviewProductsQuery>(PRODUCTS).then((d) => products.replaceChildren(...[...new Set(
    d.batches.edges.map((e) => e.node.product))].sort().map((p) => h("option", { value: p })))).catch(() => undefined);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ product: product.value.trim(), year: year.value.trim() });
    location.hash = `#/quality/review?${q.toString()}`;  // linkable; the route remounts this view
  });
  const chosen = query.get("product");
  if (chosen) {
    await busy(submit, t("common.loading"), async () => {
      const r = (await gql<ProductQualityReviewQuery, ProductQualityReviewQueryVariables>(REVIEW,
        { product: chosen, year: Number(query.get("year")) })).productQualityReview;
      out.replaceChildren(...render(r, disposers));
    }, (e) => out.replaceChildren(h("p", { class: "error-box", role: "alert" }, refusal(e))));
  }
  return () => disposers.forEach((d) => d());
}

function render(r: Review, disposers: (() => void)[]): HTMLElement[] {
  const trends = r.trends.map((tr) => {
    const host = h("div", { class: "trend pqr-chart", "data-testid": "pqr-chart" });
    const box = h("section", { class: "pqr-trend", "data-trend": `${tr.specificationCode}/${tr.stage}/${tr.item}` },
      h("h4", null, `${tr.item}${tr.unit ? ` (${tr.unit})` : ""} · ${enumLabel("TestStage", tr.stage)} · ${tr.specificationCode}`),
      h("p", { class: "pqr-stats", "data-testid": "pqr-stats" },
        t("pqr.stats", { n: tr.points.length, low: tr.low ?? "—", high: tr.high ?? "—", mean: num(tr.mean), sd: num(tr.sd),
          cpk: num(tr.cpk), min: num(tr.minimum), max: num(tr.maximum), outside: tr.outsideLimits })),
      host);
    // Drawn once the host is in the page, so uPlot measures its width.
    requestAnimationFrame(() => { if (host.isConnected) disposers.push(drawYearTrend(tr, host)); });
    return box;
  });
  return [
    h("h3", { "data-testid": "pqr-title" }, `${r.product} · ${r.year}`),
    h("p", { "data-testid": "pqr-batches" }, t("pqr.batches", { n: r.batches.length }) +
      (r.batchesByStatus.map((s) => `${s.count} ${enumLabel("BatchStatus", s.status)}`).join(", ") || t("pqr.noneWord"))),
    table([t("chart.col.batch"), t("details.status"), t("pqr.started")], r.batches.map((b) => [b.batchNumber, enumLabel("BatchStatus", b.status), b.startedAt ? fmtTime(b.startedAt) : "—"])),
    h("h3", null, t("pqr.deviations", { n: r.deviations.length })), records(r.deviations, "DeviationStatus"),
    h("h3", null, t("pqr.oos", { n: r.oos.length })), h("div", { "data-testid": "pqr-oos" }, records(r.oos, "OosStatus")),
    h("h3", null, t("pqr.capa", { n: r.capas.length })), records(r.capas, "CapaStatus"),
    h("h3", null, t("pqr.trends", { n: r.trends.length })),
    ...(trends.length ? trends : [h("p", { class: "muted" }, t("pqr.noTrends"))]),
  ];
}

function records(rows: Rec[], status: EnumType): HTMLElement {
  return table([t("pqr.number"), t("details.status"), t("pqr.titleCol"), t("chart.col.batch")], rows.map((x) => [x.number, enumLabel(status, x.status), x.title, x.batchNumber ?? "—"]));
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : `${+v.toPrecision(4)}`;
}

function table(head: string[], rows: string[][]): HTMLElement {
  if (!rows.length) return h("p", { class: "muted" }, t("pqr.none"));
  return h("table", { class: "review-items" },
    h("thead", null, h("tr", null, ...head.map((x) => h("th", null, x)))),
    h("tbody", null, ...rows.map((row) => h("tr", null, ...row.map((c) => h("td", null, c))))));
}
