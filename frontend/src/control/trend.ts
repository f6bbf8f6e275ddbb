/** A uPlot trend of one tag: the last hours from sensorHistory, then live points as they come. */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { HistoryQuery, HistoryQueryVariables } from "../api/generated";
import { gql, errorText } from "../api/gql";
import { fmtTime, h } from "../dom";
import type { Sensor } from "./plant";
import type { LiveStore } from "./store";
import { t, zoneLabel } from "../i18n";

const HISTORY = /* GraphQL */ `query History($tag: String!, $from: DateTime!, $to: DateTime!, $maxPoints: Int!) {
  sensorHistory(tag: $tag, from: $from, to: $to, maxPoints: $maxPoints) { time value min max count }
}`;

const MAX_POINTS = 4000;
const WINDOWS = [1, 4, 8, 24];
// Axis times on the 24-hour clock in the viewer's locale and zone, which the status line names.
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

export class Trend {
  readonly el: HTMLDivElement;
  private plot: uPlot | null = null;
  private xs: number[] = [];
  private ys: (number | null)[] = [];
  private lastLive = 0;
  private stop: (() => void) | null = null;
  private resize: ResizeObserver | null = null;
  private status: HTMLDivElement;
  private disposed = false;

  constructor(private readonly sensor: Sensor, private readonly store: LiveStore, private hours = 4) {
    this.status = h("div", { class: "trend-status" }, t("trend.loading"));
    const choose = h("select", { "aria-label": t("trend.window"), "data-testid": "trend-window",
      onChange: (ev: Event) => this.setWindow(Number((ev.target as HTMLSelectElement).value)) },
    ...WINDOWS.map((n) => h("option", { value: String(n), selected: n === hours }, t("trend.hours", { n }))));
    this.el = h("div", { class: "trend", "data-trend": sensor.tag },
      h("div", { class: "trend-head" }, choose, this.status));
    void this.load();
  }

  /** Show another window: the history is read again, live points follow as before. */
  private setWindow(hours: number): void {
    this.stop?.();
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
    this.xs = [];
    this.ys = [];
    this.lastLive = 0;
    this.hours = hours;
    this.status.textContent = t("trend.loading");
    void this.load();
  }

  dispose(): void {
    this.disposed = true;
    this.stop?.();
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private async load(): Promise<void> {
    const to = new Date();
    const from = new Date(to.getTime() - this.hours * 3600_000);
    try {
      const d = await gql<HistoryQuery, HistoryQueryVariables>(HISTORY, {
        tag: this.sensor.tag, from: from.toISOString(), to: to.toISOString(), maxPoints: 400,
      });
      if (this.disposed) return;
      for (const p of d.sensorHistory) {
        this.xs.push(new Date(p.time).getTime() / 1000);
        this.ys.push(p.value);
      }
      this.status.textContent = (d.sensorHistory.length
        ? t("trend.loaded", { hours: this.hours, points: d.sensorHistory.length })
        : t("trend.empty", { hours: this.hours })) + t("trend.zone", { zone: `${ZONE}, ${zoneLabel(new Date())}` });
    } catch (e) {
      if (this.disposed) return;
      this.status.textContent = t("trend.failed", { error: errorText(e) });
      this.status.classList.add("error");
    }
    this.draw();
    this.stop = this.store.onFrame((c) => {
      if (c.tags.has(this.sensor.tag)) this.addLive();
    });
    this.addLive();
  }

  private addLive(): void {
    const tv = this.store.tags.get(this.sensor.tag);
    if (!tv || !tv.sourceTime) return;
    const t = new Date(tv.sourceTime).getTime() / 1000;
    if (t <= this.lastLive || (this.xs.length && t <= this.xs[this.xs.length - 1])) return;
    this.lastLive = t;
    this.xs.push(t);
    this.ys.push(tv.quality === "BAD" ? null : tv.value);
    if (this.xs.length > MAX_POINTS) {
      this.xs.splice(0, this.xs.length - MAX_POINTS);
      this.ys.splice(0, this.ys.length - MAX_POINTS);
    }
    this.plot?.setData(this.data());
  }

  private data(): uPlot.AlignedData {
    const lo = this.sensor.lowLimit;
    const hi = this.sensor.highLimit;
    return [
      this.xs,
      this.ys,
      this.xs.map(() => lo),
      this.xs.map(() => hi),
    ] as uPlot.AlignedData;
  }

  private draw(): void {
    const width = Math.max(this.el.clientWidth || 320, 200);
    const unit = this.sensor.unit;
    const opts: uPlot.Options = {
      width,
      height: 190,
      cursor: { drag: { x: true, y: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#555", grid: { stroke: "#e2e2e2" }, ticks: { stroke: "#ccc" },
          values: (_u, vals) => vals.map((v) => (v === null ? "" : CLOCK.format(new Date(v * 1000)))) },
        { stroke: "#555", grid: { stroke: "#e2e2e2" }, ticks: { stroke: "#ccc" }, size: 56,
          values: (_u, vals) => vals.map((v) => (v === null ? "" : `${+v.toPrecision(4)}`)) },
      ],
      series: [
        { label: t("trend.time"), value: (_u, v) => (v === null || v === undefined ? "—" : fmtTime(new Date(v * 1000).toISOString())) },
        { label: `${this.sensor.tag} (${unit})`, stroke: "#2b2b2b", width: 1.5, spanGaps: false,
          value: (_u, v) => (v === null || v === undefined ? "—" : `${+v.toPrecision(5)} ${unit}`) },
        { label: t("trend.low"), stroke: "#8a8a8a", dash: [5, 4], width: 1, points: { show: false },
          show: this.sensor.lowLimit !== null },
        { label: t("trend.high"), stroke: "#8a8a8a", dash: [5, 4], width: 1, points: { show: false },
          show: this.sensor.highLimit !== null },
      ],
    };
    this.plot = new uPlot(opts, this.data(), this.el);
    this.resize = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      if (this.plot && w > 0 && Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: 190 });
    });
    this.resize.observe(this.el);
  }
}
