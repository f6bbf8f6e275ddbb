/** The control chart of a specification item (OOT): its results in order, the centre line, ±1/2/3 sigma and
 * the specification limits with uPlot; the points that break a trend rule are marked and listed. */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ControlChartQuery, ControlChartQueryVariables } from "../api/generated";
import { gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { refusal } from "../tablet/common";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

const CHART = /* GraphQL */ `query ControlChart($spec: String!, $item: String!, $last: Int!) {
  controlChart(specificationCode: $spec, item: $item, last: $last) {
    specificationCode item unit mean sigma plus1 plus2 plus3 minus1 minus2 minus3 specLow specHigh rulesVersion
    points { resultId batchNumber value reported time rules }
  }
}`;

type Chart = ControlChartQuery["controlChart"];

export async function mountChart(panel: HTMLElement, spec: string, item: string): Promise<() => void> {
  let plot: uPlot | null = null;
  let resize: ResizeObserver | null = null;
  const dispose = () => { resize?.disconnect(); plot?.destroy(); plot = null; };
  let c: Chart;
  try {
    c = (await gql<ControlChartQuery, ControlChartQueryVariables>(CHART, { spec, item, last: 25 })).controlChart;
  } catch (e) {
    panel.replaceChildren(h("p", { class: "error-box", role: "alert" }, refusal(e)));
    return dispose;
  }
  const broken = c.points.filter((p) => p.rules.length);
  const host = h("div", { class: "trend control-chart", "data-testid": "control-chart" });
  panel.replaceChildren(
    h("div", { class: "list-head" }, h("h2", null, `${c.specificationCode} · ${c.item} (${c.unit})`)),
    h("p", { class: "muted", "data-testid": "chart-summary" },
      t("chart.summary", { n: c.points.length, mean: num(c.mean), sigma: num(c.sigma), low: c.specLow ?? "—", high: c.specHigh ?? "—" })),
    host,
    broken.length ? h("p", { class: "badge", "data-testid": "chart-alerts" },
      t("chart.oot", { list: broken.map((p) => `${p.batchNumber} ${rules(p.rules)}`).join("; ") }))
      : h("p", { class: "ok" }, t("chart.noRule")),
    h("p", { class: "muted" }, c.rulesVersion),
    h("table", { class: "review-items" },
      h("thead", null, h("tr", null, ...["#", t("chart.col.batch"), t("chart.col.value"), t("chart.col.recorded"), t("chart.col.rules")].map((x) => h("th", null, x)))),
      h("tbody", null, ...c.points.map((p, i) => h("tr", { class: p.rules.length ? "oot" : "", "data-point": p.batchNumber },
        h("td", null, String(i + 1)), h("td", null, p.batchNumber), h("td", null, p.reported),
        h("td", null, fmtTime(p.time)), h("td", null, rules(p.rules)))))));
  if (c.points.length) plot = draw(c, host);
  if (plot) {
    resize = new ResizeObserver(() => {
      const w = host.clientWidth;
      if (plot && w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: 280 });
    });
    resize.observe(host);
  }
  return dispose;
}

/** The trend rules a point breaks, as the reader's language names them. */
function rules(list: readonly string[]): string {
  return list.map((r) => enumLabel("Rule", r)).join(", ");
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : `${+v.toPrecision(5)}`;
}

function draw(c: Chart, host: HTMLElement): uPlot {
  const xs = c.points.map((_, i) => i + 1);
  const flat = (v: number | null | undefined) => xs.map(() => (v === null || v === undefined ? null : v));
  const limit = (v: string | null | undefined) => flat(v === null || v === undefined ? null : Number(v));
  const line = (label: string, stroke: string, dash: number[] = []) =>
    ({ label, stroke, dash, width: 1, points: { show: false } });
  const data = [
    xs, c.points.map((p) => p.value), c.points.map((p) => (p.rules.length ? p.value : null)),
    flat(c.mean), flat(c.plus1), flat(c.minus1), flat(c.plus2), flat(c.minus2), flat(c.plus3), flat(c.minus3),
    limit(c.specLow), limit(c.specHigh),
  ] as uPlot.AlignedData;
  const opts: uPlot.Options = {
    width: Math.max(host.clientWidth || 600, 300),
    height: 280,
    legend: { show: true },
    scales: { x: { time: false } },
    axes: [
      { stroke: "#555", grid: { stroke: "#e2e2e2" }, incrs: [1, 2, 5, 10, 20],
        values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? c.points[v - 1]?.batchNumber ?? "" : "")) },
      { stroke: "#555", grid: { stroke: "#e2e2e2" }, size: 56 },
    ],
    series: [
      { label: "#" },
      { label: `${c.item} (${c.unit})`, stroke: "#2b2b2b", width: 1.5, points: { show: true, size: 5 } },
      { label: t("chart.ootLabel"), stroke: "#c0392b", width: 0, points: { show: true, size: 11, fill: "#c0392b" } },
      line(t("chart.mean"), "#555"), line("+1σ", "#bbb", [2, 4]), line("−1σ", "#bbb", [2, 4]),
      line("+2σ", "#999", [4, 4]), line("−2σ", "#999", [4, 4]), line("+3σ", "#777", [8, 4]), line("−3σ", "#777", [8, 4]),
      line(t("chart.specLow"), "#333", [1, 0]), line(t("chart.specHigh"), "#333", [1, 0]),
    ],
  };
  return new uPlot(opts, data, host);
}

/** One item's values over a product's year (the quality review): the values per batch with the
 * specification limits and the mean drawn; the caller shows the numbers beside it. */
export interface YearTrend {
  item: string;
  unit: string;
  low?: number | null;
  high?: number | null;
  mean: number;
  points: { batchNumber: string; value: number }[];
}

export function drawYearTrend(yt: YearTrend, host: HTMLElement): () => void {
  const xs = yt.points.map((_, i) => i + 1);
  const flat = (v: number | null | undefined) => xs.map(() => (v === null || v === undefined ? null : v));
  const line = (label: string, stroke: string, dash: number[] = []) =>
    ({ label, stroke, dash, width: 1.5, points: { show: false } });
  const data = [xs, yt.points.map((p) => p.value), flat(yt.mean), flat(yt.low), flat(yt.high)] as uPlot.AlignedData;
  const plot = new uPlot({
    width: Math.max(host.clientWidth || 600, 300),
    height: 240,
    legend: { show: true },
    scales: { x: { time: false, range: (_u, lo, hi) => [lo - 0.3, hi + 0.3] } },  // room for the end labels
    axes: [
      { stroke: "#555", grid: { stroke: "#e2e2e2" }, incrs: [1, 2, 5, 10, 20, 50],
        values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? yt.points[v - 1]?.batchNumber ?? "" : "")) },
      { stroke: "#555", grid: { stroke: "#e2e2e2" }, size: 56 },
    ],
    series: [
      { label: "#" },
      { label: `${yt.item}${yt.unit ? ` (${yt.unit})` : ""}`, stroke: "#2b2b2b", width: 1.5, points: { show: true, size: 6 } },
      line(t("chart.mean"), "#777", [4, 4]), line(t("trend.low"), "#c0392b"), line(t("trend.high"), "#c0392b"),
    ],
  }, data, host);
  const resize = new ResizeObserver(() => {
    const w = host.clientWidth;
    if (w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: 240 });
  });
  resize.observe(host);
  return () => { resize.disconnect(); plot.destroy(); };
}
