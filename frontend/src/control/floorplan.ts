/**
 * The overview level of the HMI: rooms, equipment and key values drawn once as SVG from the plant
 * layout (metres), then updated node by node. A frame of changes touches only the text and
 * attributes of the tags, equipment and rooms that changed.
 */

import { s } from "../dom";
import { has, t } from "../i18n";
import type { AlarmStore, Alarm } from "./alarms";
import type { Camera } from "./details";
import { fmtNumber } from "../dom";
import { isState, outOfLimits, stateText, type PlantIndex, type Room, type Sensor } from "./plant";
import type { Changes, LiveStore } from "./store";
import { alarmSymbol } from "../ui/symbols";

export type Selection = { kind: "room"; code: string } | { kind: "equipment"; code: string } | null;

/** The status word inside an equipment symbol (short: RUN, MAINT, OOS). */
function statusShort(st: string): string {
  return has(`eq.short.${st}`) ? t(`eq.short.${st}`) : st;
}
/** What the overview shows of a room: its air temperature, pressure cascade and humidity. */
const ROOM_KINDS = ["temperature", "differential_pressure", "humidity"];
const EQ_W = 2.4;
const EQ_H = 1.4;

interface ValueNode {
  sensor: Sensor;
  value: SVGTSpanElement;
  mark: SVGTSpanElement;
}

interface Marked {
  holder: SVGGElement;
  target: Element;
  alarm: Alarm | null;
}

function bbox(poly: number[][]): { x0: number; y0: number; x1: number; y1: number } {
  const xs = poly.map((p) => p[0]);
  const ys = poly.map((p) => p[1]);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

/** Top-left and bottom-left corners that lie on the polygon (rooms may be L-shaped). */
function corners(poly: number[][]): { top: [number, number]; bottom: [number, number]; topRight: [number, number] } {
  const b = bbox(poly);
  const onTop = poly.filter((p) => p[1] === b.y0);
  const onBottom = poly.filter((p) => p[1] === b.y1);
  const top: [number, number] = [Math.min(...onTop.map((p) => p[0])), b.y0];
  const topRight: [number, number] = [Math.max(...onTop.map((p) => p[0])), b.y0];
  const bottom: [number, number] = [Math.min(...onBottom.map((p) => p[0])), b.y1];
  return { top, bottom, topRight };
}

/** Rough glyph widths (DejaVu Sans) in font-size units: enough to fit labels without measuring. */
function textWidth(text: string, size: number, bold = false): number {
  return text.length * size * (bold ? 0.66 : 0.58);
}

function fitText(text: string, size: number, width: number): string {
  if (textWidth(text, size) <= width) return text;
  const n = Math.floor(width / (size * 0.58)) - 1;
  return n >= 4 ? `${text.slice(0, n).trimEnd()}…` : "";
}

/** Length of the lowest horizontal wall, where the key values are written. */
function bottomEdge(poly: number[][]): number {
  const y1 = Math.max(...poly.map((p) => p[1]));
  const xs = poly.filter((p) => p[1] === y1).map((p) => p[0]);
  return Math.max(...xs) - Math.min(...xs);
}

export function formatValue(sn: Sensor, v: number | null): string {
  if (isState(sn)) return stateText(sn, v);
  return `${fmtNumber(v, sn.unit)} ${sn.unit}`;
}

export function qualityMark(q: string | null | undefined): string {
  switch (q) {
    case "UNCERTAIN": return " ?";
    case "BAD": return ` ${t("quality.BAD")}`;
    case "STALE": return ` ${t("quality.STALE")}`;
    default: return "";
  }
}

export class FloorPlan {
  readonly el: SVGSVGElement;
  private values = new Map<string, ValueNode[]>();
  private eqNodes = new Map<string, { g: SVGGElement; status: SVGTextElement; marker: Marked }>();
  private roomNodes = new Map<string, { g: SVGGElement; marker: Marked }>();
  private batchTexts = new Map<string, { text: SVGTextElement; width: number }>();
  private tagAlarms = new Map<string, Alarm>();
  private selected: Element | null = null;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly index: PlantIndex, private readonly store: LiveStore,
              private readonly alarms: AlarmStore, private readonly onSelect: (sel: Selection) => void) {
    const p = index.plant;
    this.el = s("svg", {
      class: "plan", viewBox: `-1 -1 ${p.width + 2} ${p.height + 2}`, preserveAspectRatio: "xMidYMid meet",
      role: "img", "aria-label": t("plan.label", { name: p.name }),
    });
    const defs = s("defs", null,
      s("pattern", { id: "hatch", width: 0.6, height: 0.6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        s("line", { x1: 0, y1: 0, x2: 0, y2: 0.6, class: "hatch-line" })));
    const roomsLayer = s("g", { class: "rooms" });
    const eqLayer = s("g", { class: "equipment-layer" });
    this.el.append(defs, roomsLayer, eqLayer);
    for (const room of p.rooms) {
      roomsLayer.append(this.drawRoom(room, defs));
      for (const e of room.equipment) eqLayer.append(this.drawEquipment(e.code));
    }
    this.enableZoom();
    this.el.addEventListener("click", (ev) => {
      if (this.dragged) {
        this.dragged = false;
        return;
      }
      const target = ev.target as Element;
      const eq = target.closest("[data-eq]");
      const room = target.closest("[data-room]");
      if (eq) this.select({ kind: "equipment", code: eq.getAttribute("data-eq")! });
      else if (room) this.select({ kind: "room", code: room.getAttribute("data-room")! });
    });
    this.el.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" && ev.key !== " ") return;
      const target = ev.target as Element;
      const eq = target.closest("[data-eq]");
      const room = target.closest("[data-room]");
      if (eq) this.select({ kind: "equipment", code: eq.getAttribute("data-eq")! });
      else if (room) this.select({ kind: "room", code: room.getAttribute("data-room")! });
      ev.preventDefault();
    });
    this.unsubscribe.push(store.onFrame((c) => this.paint(c)));
    this.unsubscribe.push(alarms.onChange(() => this.paintAlarms()));
    this.paint({ tags: new Set(index.sensors.keys()), equipment: new Set(index.equipment.keys()) });
    this.paintAlarms();
  }

  dispose(): void {
    for (const u of this.unsubscribe) u();
  }

  private view = { x: -1, y: -1, w: 0, h: 0 };
  private dragged = false;

  /** Wheel to zoom around the pointer, drag to pan; `resetZoom` shows the whole plant again. */
  private enableZoom(): void {
    const p = this.index.plant;
    this.view = { x: -1, y: -1, w: p.width + 2, h: p.height + 2 };
    const toPlant = (cx: number, cy: number) => {
      const m = this.el.getScreenCTM();
      if (!m) return { x: 0, y: 0 };
      const pt = new DOMPoint(cx, cy).matrixTransform(m.inverse());
      return { x: pt.x, y: pt.y };
    };
    this.el.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const at = toPlant(ev.clientX, ev.clientY);
      const f = Math.exp(Math.sign(ev.deltaY) * 0.15);
      const w = Math.min(Math.max(this.view.w * f, 12), p.width + 2);
      const k = w / this.view.w;
      this.setView({ x: at.x - (at.x - this.view.x) * k, y: at.y - (at.y - this.view.y) * k, w, h: this.view.h * k });
    }, { passive: false });
    let start: { x: number; y: number; vx: number; vy: number; id: number } | null = null;
    this.el.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      this.dragged = false;
      start = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y, id: ev.pointerId };
    });
    this.el.addEventListener("pointermove", (ev) => {
      if (!start || ev.pointerId !== start.id) return;
      const dx = ev.clientX - start.x;
      const dy = ev.clientY - start.y;
      if (!this.dragged && Math.hypot(dx, dy) < 5) return;
      if (!this.dragged) this.el.setPointerCapture(ev.pointerId);
      this.dragged = true;
      const m = this.el.getScreenCTM();
      const scale = m ? m.a : 1;
      this.setView({ ...this.view, x: start.vx - dx / scale, y: start.vy - dy / scale });
    });
    const end = () => {
      start = null;
    };
    this.el.addEventListener("pointerup", end);
    this.el.addEventListener("pointercancel", end);
  }

  resetZoom(): void {
    const p = this.index.plant;
    this.setView({ x: -1, y: -1, w: p.width + 2, h: p.height + 2 });
  }

  zoom(factor: number): void {
    const cx = this.view.x + this.view.w / 2;
    const cy = this.view.y + this.view.h / 2;
    const w = Math.min(Math.max(this.view.w * factor, 12), this.index.plant.width + 2);
    const h = this.view.h * (w / this.view.w);
    this.setView({ x: cx - w / 2, y: cy - h / 2, w, h });
  }

  private setView(v: { x: number; y: number; w: number; h: number }): void {
    this.view = v;
    this.el.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  }

  /** Cameras as small grey glyphs with their field of view; a click opens their room. */
  addCameras(cams: Camera[]): void {
    const layer = s("g", { class: "cameras" });
    for (const c of cams) {
      const dir = ((c.directionDeg ?? 90) - 90) * Math.PI / 180; // 0° = north (up), clockwise
      const half = ((c.fieldOfViewDeg ?? 60) / 2) * Math.PI / 180;
      const r = 2.2;
      const p1 = [c.x + r * Math.cos(dir - half), c.y + r * Math.sin(dir - half)];
      const p2 = [c.x + r * Math.cos(dir + half), c.y + r * Math.sin(dir + half)];
      layer.append(s("g", { class: `cam${c.active ? "" : " inactive"}`, "data-camera": c.code, "data-room": c.roomCode },
        s("title", null, `${c.code} — ${c.name}`),
        s("path", { class: "cam-fov", d: `M${c.x},${c.y} L${p1[0]},${p1[1]} A${r},${r} 0 0 1 ${p2[0]},${p2[1]} Z` }),
        s("circle", { class: "cam-body", cx: c.x, cy: c.y, r: 0.45 })));
    }
    this.el.append(layer);
  }

  select(sel: Selection): void {
    this.selected?.classList.remove("selected");
    this.selected = null;
    if (sel) {
      const node = sel.kind === "room" ? this.roomNodes.get(sel.code)?.g : this.eqNodes.get(sel.code)?.g;
      if (node) {
        node.classList.add("selected");
        this.selected = node;
      }
    }
    this.onSelect(sel);
  }

  /** The batch and phase running in each room, under the room's name; rooms without one show nothing. */
  setRunning(byRoom: Map<string, string>): void {
    for (const [code, { text, width }] of this.batchTexts) {
      const line = byRoom.get(code) ?? "";
      text.textContent = line ? fitText(`▶ ${line}`, 0.95, width) : "";
    }
  }

  private drawRoom(room: Room, defs: SVGDefsElement): SVGGElement {
    const pts = room.polygon.map(([x, y]) => `${x},${y}`).join(" ");
    const clipId = `clip-${room.code}`;
    defs.append(s("clipPath", { id: clipId }, s("polygon", { points: pts })));
    const c = corners(room.polygon);
    const gradeText = room.grade === "CNC" ? t("room.gradeCNCShort") : t("room.grade", { grade: room.grade });
    // Names are cut to the room's width (estimated glyph widths): the full name is in the details.
    const topWidth = c.topRight[0] - c.top[0];
    const nameRoom = topWidth - 1.2 - textWidth(room.code, 1.15, true) - 0.6 - textWidth(gradeText, 0.85) - 0.6;
    const header = s("text", { class: "room-label", x: c.top[0] + 0.6, y: c.top[1] + 1.5 },
      s("tspan", { class: "room-code" }, room.code),
      s("tspan", { class: "room-name", dx: 0.6 }, fitText(room.name, 0.95, nameRoom)));
    const valuesText = s("text", { class: "room-values", x: c.bottom[0] + 0.6, y: c.bottom[1] - 0.55 });
    const batchText = s("text", { class: "room-batch", "data-room-batch": room.code, x: c.top[0] + 0.6, y: c.top[1] + 2.9 });
    this.batchTexts.set(room.code, { text: batchText, width: topWidth - 1.2 });
    const candidates = ROOM_KINDS
      .map((k) => this.index.roomSensors(room.code).filter((sn) => sn.kind === k).sort((a, b) => a.tag.localeCompare(b.tag))[0])
      .filter((sn): sn is Sensor => !!sn);
    // As many key values as the bottom wall holds; a door only when open (the text says "OPEN").
    const bottomWidth = bottomEdge(room.polygon) - 1.2;
    const shown: Sensor[] = [];
    let used = 0;
    for (const sn of candidates) {
      const w = textWidth(`-00.0 ${sn.unit}`, 1.05) + 0.9;
      if (used + w > bottomWidth && shown.length) break;
      shown.push(sn);
      used += w;
    }
    const door = this.index.roomSensors(room.code).find((sn) => sn.kind === "door");
    const all = door ? [...shown, door] : shown;
    all.forEach((sn, i) => {
      const value = s("tspan", { class: "v", "data-tag": sn.tag, dx: i ? 0.9 : 0 });
      const mark = s("tspan", { class: "q" });
      valuesText.append(value, mark);
      this.addValue(sn, value, mark);
    });
    const grade = s("text", { class: "room-grade", x: c.topRight[0] - 0.5, y: c.top[1] + 1.5, "text-anchor": "end" }, gradeText);
    const holder = s("g", { class: "alarm-holder", transform: `translate(${c.topRight[0] - 1.5},${c.top[1] + 3.3})` });
    const g = s("g", {
      class: "room", "data-room": room.code, tabindex: 0, role: "button",
      "aria-label": `${room.code} ${room.name}`,
    },
    s("title", null, `${room.code} — ${room.name} (${gradeText})`),
    s("polygon", { class: "room-shape", points: pts }),
    s("g", { "clip-path": `url(#${clipId})` }, header, grade, batchText, valuesText),
    holder);
    this.roomNodes.set(room.code, { g, marker: { holder, target: g, alarm: null } });
    return g;
  }

  private drawEquipment(code: string): SVGGElement {
    const e = this.index.equipment.get(code)!;
    const sensors = this.index.sensorsOf(code);
    const primary = sensors.find((sn) => sn.highLimit !== null || sn.lowLimit !== null) ?? sensors[0];
    const status = s("text", { class: "eq-status", x: e.x, y: e.y + 0.22, "text-anchor": "middle" }, "");
    const holder = s("g", { class: "alarm-holder", transform: `translate(${e.x - EQ_W / 2 - 0.2},${e.y - EQ_H / 2 - 0.2})` });
    const g = s("g", {
      class: "eq", "data-eq": code, "data-status": "", tabindex: 0, role: "button", "aria-label": `${code} ${e.name}`,
    },
    s("title", null, `${code} — ${e.name}`),
    s("rect", { class: "eq-body", x: e.x - EQ_W / 2, y: e.y - EQ_H / 2, width: EQ_W, height: EQ_H, rx: 0.2 }),
    status);
    if (primary) {
      // Below the symbol, unless the room's wall is too close: then above it.
      const room = this.index.rooms.get(e.roomCode);
      const bottom = room ? bbox(room.polygon).y1 : Number.POSITIVE_INFINITY;
      const below = e.y + EQ_H / 2 + 1.1;
      const y = bottom - below < 1.6 ? e.y - EQ_H / 2 - 0.35 : below;
      const label = s("text", { class: "eq-value", x: e.x, y, "text-anchor": "middle" });
      const value = s("tspan", { class: "v", "data-tag": primary.tag });
      const mark = s("tspan", { class: "q" });
      label.append(value, mark);
      g.append(label);
      this.addValue(primary, value, mark);
    }
    g.append(holder);
    this.eqNodes.set(code, { g, status, marker: { holder, target: g, alarm: null } });
    return g;
  }

  private addValue(sensor: Sensor, value: SVGTSpanElement, mark: SVGTSpanElement): void {
    const list = this.values.get(sensor.tag) ?? [];
    list.push({ sensor, value, mark });
    this.values.set(sensor.tag, list);
  }

  private paint(c: Changes): void {
    for (const tag of c.tags) {
      const nodes = this.values.get(tag);
      if (nodes) for (const n of nodes) this.paintValue(n);
    }
    for (const code of c.equipment) {
      const n = this.eqNodes.get(code);
      if (!n) continue;
      const st = this.store.equipment.get(code) ?? "IDLE";
      if (n.g.getAttribute("data-status") !== st) {
        n.g.setAttribute("data-status", st);
        n.status.textContent = statusShort(st);
      }
    }
  }

  private paintValue(n: ValueNode): void {
    const tv = this.store.tags.get(n.sensor.tag);
    const v = tv?.value ?? null;
    const text = tv ? (tv.quality === "BAD" ? t("quality.BAD") : formatValue(n.sensor, v)) : "—";
    if (n.value.textContent !== text) n.value.textContent = text;
    const mark = tv && tv.quality !== "BAD" ? qualityMark(tv.quality) : "";
    if (n.mark.textContent !== mark) n.mark.textContent = mark;
    const alarm = this.tagAlarms.get(n.sensor.tag);
    let cls = "v";
    if (alarm) cls += ` v-alarm p-${alarm.priority}`;
    else if (outOfLimits(n.sensor, v) || (n.sensor.kind === "door" && v !== null && v >= 0.5)) cls += " v-off";
    if (tv && tv.quality !== "GOOD") cls += ` q-${tv.quality}`;
    if (n.value.getAttribute("class") !== cls) n.value.setAttribute("class", cls);
    if (n.sensor.kind === "door") n.value.setAttribute("display", v !== null && v >= 0.5 ? "inline" : "none");
  }

  private paintAlarms(): void {
    const worst = this.alarms.worst();
    for (const [code, n] of this.roomNodes) this.mark(n.marker, worst.rooms.get(code) ?? null, 1.1);
    for (const [code, n] of this.eqNodes) this.mark(n.marker, worst.equipment.get(code) ?? null, 0.75);
    const before = this.tagAlarms;
    this.tagAlarms = worst.tags;
    const touched = new Set<string>([...before.keys(), ...worst.tags.keys()]);
    for (const tag of touched) {
      for (const n of this.values.get(tag) ?? []) this.paintValue(n);
    }
  }

  private mark(m: Marked, a: Alarm | null, r: number): void {
    const key = a ? `${a.id}:${a.state}:${a.priority}` : "";
    const had = m.alarm ? `${m.alarm.id}:${m.alarm.state}:${m.alarm.priority}` : "";
    if (key === had) return;
    m.alarm = a;
    m.holder.replaceChildren(...(a ? [alarmSymbol(a, r)] : []));
    if (a) {
      m.target.setAttribute("data-alarm", a.priority);
      m.target.setAttribute("data-alarm-state", a.state);
    } else {
      m.target.removeAttribute("data-alarm");
      m.target.removeAttribute("data-alarm-state");
    }
  }
}
