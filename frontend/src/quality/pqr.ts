/** Product quality review (QM-11): a product's year from the records, the batches by status, deviations, OOS and
 * CAPA, and per numeric test item its values over the year's batches charted against the limits, with mean, sd
 * and Cpk. Route: #/quality/review?product=NAME&year=YYYY. */

import type { ProductQualityReviewQuery, ProductQualityReviewQueryVariables, ReviewProductsQuery } from "../api/generated";
import { gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { busy, field, refusal } from "../tablet/common";
import { drawYearTrend } from "./chart";

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
  const submit = h("button", { type: "submit", class: "primary" }, "Show the review");
  const out = h("div", { "data-testid": "pqr" });
  const form = h("form", { class: "pqr-form", "data-testid": "pqr-form" }, field("Product", product), products,
    field("Year", year), submit);
  panel.replaceChildren(h("div", { class: "list-head" }, h("h2", null, "Product quality review")), form, out);
  void gql<ReviewProductsQuery>(PRODUCTS).then((d) => products.replaceChildren(...[...new Set(
    d.batches.edges.map((e) => e.node.product))].sort().map((p) => h("option", { value: p })))).catch(() => undefined);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ product: product.value.trim(), year: year.value.trim() });
    location.hash = `#/quality/review?${q.toString()}`;  // linkable; the route remounts this view
  });
  const chosen = query.get("product");
  if (chosen) {
    await busy(submit, "Loading…", async () => {
      const r = (await gql<ProductQualityReviewQuery, ProductQualityReviewQueryVariables>(REVIEW,
        { product: chosen, year: Number(query.get("year")) })).productQualityReview;
      out.replaceChildren(...render(r, disposers));
    }, (e) => out.replaceChildren(h("p", { class: "error-box", role: "alert" }, refusal(e))));
  }
  return () => disposers.forEach((d) => d());
}

function render(r: Review, disposers: (() => void)[]): HTMLElement[] {
  const trends = r.trends.map((t) => {
    const host = h("div", { class: "trend pqr-chart", "data-testid": "pqr-chart" });
    const box = h("section", { class: "pqr-trend", "data-trend": `${t.specificationCode}/${t.stage}/${t.item}` },
      h("h4", null, `${t.item}${t.unit ? ` (${t.unit})` : ""} · ${t.stage} · ${t.specificationCode}`),
      h("p", { class: "pqr-stats", "data-testid": "pqr-stats" },
        `${t.points.length} batch(es); limits ${t.low ?? "—"} … ${t.high ?? "—"}; mean ${num(t.mean)}, sd ${num(t.sd)}, ` +
        `Cpk ${num(t.cpk)}; min ${num(t.minimum)}, max ${num(t.maximum)}; ${t.outsideLimits} outside the limits`),
      host);
    // Drawn once the host is in the page, so uPlot measures its width.
    requestAnimationFrame(() => { if (host.isConnected) disposers.push(drawYearTrend(t, host)); });
    return box;
  });
  return [
    h("h3", { "data-testid": "pqr-title" }, `${r.product} · ${r.year}`),
    h("p", { "data-testid": "pqr-batches" }, `${r.batches.length} batch(es): ` +
      (r.batchesByStatus.map((s) => `${s.count} ${s.status}`).join(", ") || "none")),
    table(["Batch", "Status", "Started"], r.batches.map((b) => [b.batchNumber, b.status, b.startedAt ? fmtTime(b.startedAt) : "—"])),
    h("h3", null, `Deviations (${r.deviations.length})`), records(r.deviations),
    h("h3", null, `OOS (${r.oos.length})`), h("div", { "data-testid": "pqr-oos" }, records(r.oos)),
    h("h3", null, `CAPA (${r.capas.length})`), records(r.capas),
    h("h3", null, `Trends (${r.trends.length})`),
    ...(trends.length ? trends : [h("p", { class: "muted" }, "No numeric test result in this year's batches.")]),
  ];
}

function records(rows: Rec[]): HTMLElement {
  return table(["Number", "Status", "Title", "Batch"], rows.map((x) => [x.number, x.status, x.title, x.batchNumber ?? "—"]));
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : `${+v.toPrecision(4)}`;
}

function table(head: string[], rows: string[][]): HTMLElement {
  if (!rows.length) return h("p", { class: "muted" }, "None.");
  return h("table", { class: "review-items" },
    h("thead", null, h("tr", null, ...head.map((t) => h("th", null, t)))),
    h("tbody", null, ...rows.map((row) => h("tr", null, ...row.map((c) => h("td", null, c))))));
}
