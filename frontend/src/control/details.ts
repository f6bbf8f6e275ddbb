/**
 * The area and equipment levels of the HMI: a room's or an equipment item's live values, a trend,
 * status and validity, cameras and its standing alarms. Rebuilt on selection; live values are
 * patched per frame like the floor plan.
 */

import type { CamerasQuery, EquipmentQuery, EquipmentQueryVariables } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { openAckDialog } from "../ui/ackDialog";
import { alarmBadge } from "../ui/symbols";
import { ackable, type AlarmStore } from "./alarms";
import { alarmText } from "./alarmText";
import { formatValue, qualityMark, type Selection } from "./floorplan";
import { outOfLimits, type PlantIndex, type Sensor } from "./plant";
import type { Production } from "./production";
import type { LiveStore } from "./store";
import { Trend } from "./trend";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

export type Camera = CamerasQuery["cameras"][number];

export const CAMERAS = /* GraphQL */ `query Cameras { cameras { code name roomCode x y deviceType directionDeg fieldOfViewDeg
  equipmentCode streamUri active keyPosts { code name } } }`;

const EQUIPMENT = /* GraphQL */ `query Equipment($code: String!) { equipment(code: $code) {
  code name kind status roomCode cleaningStatus cleanedAt cleaningValidUntil sterilizationStatus sterilizedAt
  sterilizationValidUntil calibrationStatus calibratedOn calibrationValidUntil } }`;

function statusWord(st: string): string {
  return enumLabel("EquipmentStatus", st);
}

export class DetailsPanel {
  readonly el: HTMLElement;
  private valueCells = new Map<string, { sensor: Sensor; cell: HTMLElement; time: HTMLElement }[]>();
  private statusCells = new Map<string, HTMLElement>();
  private trend: Trend | null = null;
  private offFrame: () => void;
  private offAlarms: () => void;
  private selection: Selection = null;
  private alarmsBox: HTMLElement | null = null;
  private batchesBox: HTMLElement | null = null;
  private offProduction: () => void;

  constructor(private readonly index: PlantIndex, private readonly store: LiveStore,
              private readonly alarms: AlarmStore, private readonly cameras: () => Camera[],
              private readonly navigate: (sel: Selection) => void, private readonly production: Production) {
    this.el = h("aside", { class: "details", "aria-label": t("details.label"), "data-testid": "details" });
    this.offFrame = store.onFrame((c) => {
      for (const tag of c.tags) for (const n of this.valueCells.get(tag) ?? []) this.paintValue(n.sensor, n.cell, n.time);
      for (const code of c.equipment) {
        const cell = this.statusCells.get(code);
        if (cell) this.paintStatus(code, cell);
      }
    });
    this.offAlarms = alarms.onChange(() => this.renderAlarms());
    this.offProduction = production.onChange(() => this.renderBatches());
    this.show(null);
  }

  dispose(): void {
    this.trend?.dispose();
    this.offFrame();
    this.offAlarms();
    this.offProduction();
  }

  show(sel: Selection): void {
    this.selection = sel;
    this.trend?.dispose();
    this.trend = null;
    this.valueCells.clear();
    this.statusCells.clear();
    this.el.replaceChildren();
    this.batchesBox = null;
    if (!sel) {
      this.el.append(h("div", { class: "details-empty" },
        h("h2", null, t("details.label")),
        h("p", { class: "muted" }, t("details.empty")),
        legend()));
      return;
    }
    if (sel.kind === "room") this.showRoom(sel.code);
    else void this.showEquipment(sel.code);
  }

  private header(title: string, subtitle: string): HTMLElement {
    return h("header", { class: "details-head" },
      h("div", null, h("h2", null, title), h("div", { class: "muted" }, subtitle)),
      h("button", { class: "small", "aria-label": t("details.closeLabel"), onClick: () => this.navigate(null) }, t("common.close")));
  }

  private showRoom(code: string): void {
    const room = this.index.rooms.get(code);
    if (!room) return;
    const area = this.index.plant.areas.find((a) => a.code === room.areaCode);
    this.el.append(this.header(`${room.code} — ${room.name}`,
      `${room.grade === "CNC" ? t("room.gradeCNC") : t("room.grade", { grade: room.grade })} · ${area?.name ?? room.areaCode}`));
    this.alarmsBox = h("div", { class: "details-alarms" });
    this.el.append(this.alarmsBox);
    this.renderAlarms();
    this.batchesBox = h("div", { class: "details-production", "data-testid": "room-production" });
    this.el.append(this.batchesBox);
    this.renderBatches();
    const trendBox = h("div", { class: "trend-box" });
    const sensors = [...room.sensors].sort((a, b) => Number(!!a.equipmentCode) - Number(!!b.equipmentCode)
      || (a.equipmentCode ?? "").localeCompare(b.equipmentCode ?? "") || a.tag.localeCompare(b.tag));
    this.el.append(h("h3", null, t("details.trend")), trendBox, h("h3", null, t("details.values")), this.sensorTable(sensors, trendBox));
    const eq = h("ul", { class: "eq-list" });
    for (const e of room.equipment) {
      const st = h("span", { class: "eq-state" });
      this.statusCells.set(e.code, st);
      this.paintStatus(e.code, st);
      eq.append(h("li", null,
        h("button", { class: "link", onClick: () => this.navigate({ kind: "equipment", code: e.code }) }, e.code),
        ` ${e.name} `, st));
    }
    this.el.append(h("h3", null, t("details.equipment")), eq, h("h3", null, t("details.cameras")), this.cameraList(room.code, null));
    const first = this.index.roomTemperature(code) ?? sensors[0];
    if (first) this.trendOf(first, trendBox);
  }

  private async showEquipment(code: string): Promise<void> {
    const e = this.index.equipment.get(code);
    if (!e) return;
    this.el.append(this.header(`${e.code} — ${e.name}`, t("details.eqSubtitle", { kind: e.kind.replace(/_/g, " "), room: e.roomCode })));
    this.alarmsBox = h("div", { class: "details-alarms" });
    this.el.append(this.alarmsBox);
    this.renderAlarms();
    const st = h("span", { class: "eq-state" });
    this.statusCells.set(code, st);
    this.paintStatus(code, st);
    const validity = h("dl", { class: "validity" }, h("dt", null, t("details.status")), h("dd", null, st));
    const trendBox = h("div", { class: "trend-box" });
    const sensors = this.index.sensorsOf(code);
    this.el.append(validity, h("h3", null, t("details.trend")), trendBox, h("h3", null, t("details.values")),
      this.sensorTable(sensors, trendBox),
      h("p", null, h("button", { class: "link", onClick: () => this.navigate({ kind: "room", code: e.roomCode }) },
        t("details.room", { room: e.roomCode }))),
      h("h3", null, t("details.cameras")), this.cameraList(e.roomCode, code));
    if (sensors[0]) this.trendOf(sensors.find((sn) => sn.highLimit !== null || sn.lowLimit !== null) ?? sensors[0], trendBox);
    try {
      const d = await gql<EquipmentQuery, EquipmentQueryVariables>(EQUIPMENT, { code });
      if (this.selection?.kind !== "equipment" || this.selection.code !== code) return;
      const eqd = d.equipment;
      if (!eqd) {
        validity.append(h("dt", null, t("details.record")), h("dd", { class: "error" }, t("details.notFound")));
        return;
      }
      validity.append(
        ...validityRow(t("details.cleaning"), eqd.cleaningStatus, eqd.cleanedAt, eqd.cleaningValidUntil),
        ...validityRow(t("details.sterilization"), eqd.sterilizationStatus, eqd.sterilizedAt, eqd.sterilizationValidUntil),
        ...validityRow(t("details.calibration"), eqd.calibrationStatus, eqd.calibratedOn, eqd.calibrationValidUntil));
    } catch (err) {
      validity.append(h("dt", null, t("details.validity")), h("dd", { class: "error" }, errorText(err)));
    }
  }

  private sensorTable(sensors: Sensor[], trendBox: HTMLElement): HTMLElement {
    const body = h("tbody");
    for (const sn of sensors) {
      const cell = h("td", { class: "num value" });
      const time = h("td", { class: "num muted" });
      const tr = h("tr", { class: "clickable", "data-tag": sn.tag, title: t("details.showTrend") },
        h("td", null, h("div", null, sn.name), h("div", { class: "muted tag" }, sn.tag + (sn.equipmentCode ? ` · ${sn.equipmentCode}` : ""))),
        cell,
        h("td", { class: "num muted" }, limits(sn)),
        time);
      tr.addEventListener("click", () => this.trendOf(sn, trendBox));
      body.append(tr);
      const list = this.valueCells.get(sn.tag) ?? [];
      list.push({ sensor: sn, cell, time });
      this.valueCells.set(sn.tag, list);
      this.paintValue(sn, cell, time);
    }
    return h("table", { class: "values" },
      h("thead", null, h("tr", null, h("th", null, t("details.col.sensor")), h("th", null, t("details.col.value")),
        h("th", null, t("details.col.limits")), h("th", null, t("details.col.time")))),
      body);
  }

  private trendOf(sn: Sensor, box: HTMLElement): void {
    this.trend?.dispose();
    this.trend = new Trend(sn, this.store);
    box.replaceChildren(h("div", { class: "trend-title" }, `${sn.name} · ${sn.tag}`), this.trend.el);
    for (const tr of this.el.querySelectorAll("tr[data-tag]")) tr.classList.toggle("trended", tr.getAttribute("data-tag") === sn.tag);
  }

  private paintValue(sn: Sensor, cell: HTMLElement, time: HTMLElement): void {
    const tv = this.store.tags.get(sn.tag);
    const v = tv?.value ?? null;
    const alarm = this.alarms.worst().tags.get(sn.tag);
    cell.textContent = tv ? (tv.quality === "BAD" ? t("quality.BAD") : formatValue(sn, v) + qualityMark(tv.quality)) : "—";
    cell.className = "num value" + (alarm ? ` v-alarm p-${alarm.priority}` : outOfLimits(sn, v) ? " v-off" : "")
      + (tv && tv.quality !== "GOOD" ? ` q-${tv.quality}` : "");
    time.textContent = tv?.sourceTime ? fmtTime(tv.sourceTime).slice(11) : "";
  }

  private paintStatus(code: string, cell: HTMLElement): void {
    const st = this.store.equipment.get(code) ?? "IDLE";
    cell.textContent = statusWord(st);
    cell.className = `eq-state st-${st}`;
  }

  private renderAlarms(): void {
    const box = this.alarmsBox;
    const sel = this.selection;
    if (!box || !sel) return;
    const list = this.alarms.standing().filter((a) => sel.kind === "room"
      ? a.roomCode === sel.code
      : a.equipmentCode === sel.code || (a.tag !== null && this.index.sensors.get(a.tag)?.equipmentCode === sel.code));
    box.replaceChildren(...list.map((a) => h("div", { class: "details-alarm" },
      alarmBadge(a, 20), h("span", { title: a.message, "data-state": a.state },
        `${alarmText(a, a.tag ? this.index.sensors.get(a.tag)?.unit : null)} (${t(`alarm.stateLong.${a.state}`)})`),
      ackable(a) ? h("button", { class: "small primary", onClick: () => openAckDialog(a, this.alarms) }, t("alarms.acknowledge")) : "")));
    // Values shown here take their alarm colour from the same list.
    for (const nodes of this.valueCells.values()) for (const n of nodes) this.paintValue(n.sensor, n.cell, n.time);
  }

  private renderBatches(): void {
    const box = this.batchesBox;
    const sel = this.selection;
    if (!box || sel?.kind !== "room") return;
    const phases = this.production.inRoom(sel.code);
    box.replaceChildren(h("h3", null, t("details.production")), phases.length
      ? h("ul", { class: "details-batches" }, ...phases.map((p) => h("li", { "data-batch": p.batchNumber },
        h("strong", null, `${p.batchNumber} · ${p.phaseCode}`), ` ${p.phaseName}`,
        h("div", { class: "muted" }, t("details.phaseLine", { product: p.product, equipment: p.equipmentCode, time: fmtTime(p.startedAt).slice(11), by: p.startedBy })),
        h("a", { href: `#/batches/${encodeURIComponent(p.batchNumber)}` }, t("details.batchRecord")), " · ",
        h("a", { href: `#/tablet/batch?b=${encodeURIComponent(p.batchNumber)}` }, t("details.executeOnTablet")))))
      : h("p", { class: "muted" }, t("details.noBatch")));
  }

  private cameraList(roomCode: string, equipmentCode: string | null): HTMLElement {
    const cams = this.cameras().filter((c) => c.roomCode === roomCode);
    if (!cams.length) return h("p", { class: "muted" }, t("details.noCamera"));
    const sorted = equipmentCode ? [...cams].sort((a, b) => Number(b.equipmentCode === equipmentCode) - Number(a.equipmentCode === equipmentCode)) : cams;
    return h("ul", { class: "cam-list" }, ...sorted.map((c) => h("li", { "data-camera": c.code },
      h("strong", null, c.code), ` ${c.name} · ${enumLabel("CameraDeviceType", c.deviceType)}`,
      c.equipmentCode ? t("details.watches", { code: c.equipmentCode }) : "",
      c.active ? "" : t("details.inactive"),
      c.keyPosts.length ? h("div", { class: "muted" }, t("details.keyPosts", { posts: c.keyPosts.map((k) => k.name).join(", ") })) : "",
      c.streamUri ? streamLink(c.streamUri) : "")));
  }
}

/** Browsers play http(s) streams (HLS, WebRTC pages); rtsp:// and VMS links open only in the VMS client or a player. */
function streamLink(uri: string): HTMLElement {
  if (/^https?:\/\//i.test(uri)) {
    return h("div", null, h("a", { href: uri, target: "_blank", rel: "noopener" }, t("details.openStream")));
  }
  return h("div", { class: "stream-note", "data-testid": "stream-note" },
    h("code", null, uri),
    h("div", { class: "muted" }, t("details.streamNote")));
}

function limits(sn: Sensor): string {
  if (sn.lowLimit === null && sn.highLimit === null) return "";
  const lo = sn.lowLimit === null ? "" : `${sn.lowLimit}`;
  const hi = sn.highLimit === null ? "" : `${sn.highLimit}`;
  return sn.lowLimit !== null && sn.highLimit !== null ? `${lo} … ${hi}` : sn.lowLimit !== null ? `≥ ${lo}` : `≤ ${hi}`;
}

function validityRow(label: string, status: string | null, at: string | null, until: string | null): HTMLElement[] {
  if (!status && !until) return [h("dt", null, label), h("dd", { class: "muted" }, t("details.notTracked"))];
  const expired = until !== null && new Date(`${until}T23:59:59`).getTime() < Date.now();
  return [
    h("dt", null, label),
    h("dd", { class: expired ? "expired" : "" },
      status ?? "", at ? ` · ${fmtTime(at).slice(0, 10)}` : "",
      until ? t("details.validUntil", { date: until }) : "", expired ? h("strong", null, t("details.expired")) : ""),
  ];
}

/** What the symbols and markers mean (the HMI's legend). */
export function legend(): HTMLElement {
  const row = (p: "CRITICAL" | "HIGH" | "MEDIUM" | "LOW", text: string) =>
    h("li", null, alarmBadge({ priority: p, state: "ACKED" }, 18), ` ${text}`);
  return h("div", { class: "legend" },
    h("h3", null, t("legend.title")),
    h("ul", null,
      row("CRITICAL", t("legend.critical")), row("HIGH", t("legend.high")), row("MEDIUM", t("legend.medium")),
      row("LOW", t("legend.low")),
      h("li", null, t("legend.blink")),
      h("li", null, h("strong", null, t("legend.bold")), t("legend.boldText")),
      h("li", null, t("legend.quality")),
      h("li", null, t("legend.equipment"))));
}
