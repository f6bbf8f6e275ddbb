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

/** How a cold room's temperature is drawn in its room: see `FloorPlan.temperatureFit`. */
type TempFit = "" | "line" | "tight" | "turned";

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

/**
 * On-screen sizes (CSS px) of the plan's texts, kept whatever the zoom or window: ISA-101's overview
 * (level 1) shows each room's name, state and alarms; values appear once zoomed in where they fit.
 */
const PX = { code: 14, name: 13, state: 12.5, value: 12.5, eqStatus: 12.5, eqValue: 12.5, sym: 12.5, pad: 5, gap: 10, halo: 3,
  tight: 2 };
/** The widest temperature a cold room shows, to know before drawing it whether it fits. */
const TEMP_SAMPLE = "-00.0 °C";
/** Lines a room's name may wrap to before it is abbreviated (the full name is in its title). */
const NAME_LINES = 4;

/** Text widths in screen px, measured with the page's own font (no layout, so cheap on every zoom). */
class Measure {
  private ctx = document.createElement("canvas").getContext("2d");
  private family = "sans-serif";

  setFamily(f: string): void {
    if (f) this.family = f;
  }

  width(text: string, px: number, bold = false): number {
    if (!this.ctx) return text.length * px * (bold ? 0.66 : 0.6);
    this.ctx.font = `${bold ? "bold " : ""}${px}px ${this.family}`;
    return this.ctx.measureText(text).width * 1.04;
  }

  /** `text` cut with an ellipsis to `max` px, or "" when not even one character fits. */
  fit(text: string, px: number, max: number, bold = false): string {
    if (this.width(text, px, bold) <= max) return text;
    for (let n = text.length - 1; n >= 1; n--) {
      const cut = `${text.slice(0, n).trimEnd()}…`;
      if (this.width(cut, px, bold) <= max) return cut;
    }
    return "";
  }

  /** Words wrapped to `max` px (long words and CJK broken by character), at most `lines`, the last abbreviated. */
  wrap(text: string, px: number, max: number, lines: number, bold = false): string[] {
    const out: string[] = [];
    let line = "";
    const push = (l: string) => out.push(l);
    for (const word of text.split(/\s+/).filter(Boolean)) {
      const tryLine = line ? `${line} ${word}` : word;
      if (this.width(tryLine, px, bold) <= max) {
        line = tryLine;
        continue;
      }
      if (line) push(line);
      line = "";
      // A word wider than the room: CJK breaks anywhere, other scripts with a hyphen.
      const cjk = /[\u3000-\u9fff\uff00-\uffef]/.test(word);
      const chars = [...word];
      chars.forEach((ch, i) => {
        const last = i === chars.length - 1;
        if (line && this.width(line + ch + (cjk || last ? "" : "-"), px, bold) > max) {
          push(cjk ? line : `${line}-`);
          line = "";
        }
        line += ch;
      });
    }
    if (line) push(line);
    if (out.length <= lines) return out;
    // The greedy wrap left no room on the last line for the next word: the rest never fits whole.
    const kept = out.slice(0, lines);
    kept[lines - 1] = this.fit(out.slice(lines - 1).join(" "), px, max, bold);
    return kept;
  }
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

interface RoomNode {
  room: Room;
  g: SVGGElement;
  texts: SVGGElement;
  marker: Marked;
  code: SVGTextElement;
  grade: SVGTextElement;
  gradeText: string;
  name: SVGTextElement;
  state: SVGTextElement;
  word: SVGTSpanElement | null;
  batch: SVGTextElement;
  running: string;
  count: SVGTextElement;
  values: SVGTextElement;
  valueSpans: SVGTSpanElement[];
  /** Sample texts of the values line, to know before showing it whether it fits. */
  samples: string[];
}

interface EqNode {
  g: SVGGElement;
  status: SVGTextElement;
  label: SVGTextElement | null;
  sample: string;
  marker: Marked;
}

export class FloorPlan {
  readonly el: SVGSVGElement;
  private values = new Map<string, ValueNode[]>();
  private eqNodes = new Map<string, EqNode>();
  private roomNodes = new Map<string, RoomNode>();
  private tagAlarms = new Map<string, Alarm>();
  private selected: Element | null = null;
  private selection: Selection = null;
  private unsubscribe: (() => void)[] = [];
  private measure = new Measure();
  private scale = 0;

  constructor(private readonly index: PlantIndex, private readonly store: LiveStore,
              private readonly alarms: AlarmStore, private readonly onSelect: (sel: Selection) => void) {
    const p = index.plant;
    this.el = s("svg", {
      class: "plan", viewBox: `-1 -1 ${p.width + 2} ${p.height + 2}`, preserveAspectRatio: "xMidYMid meet",
      role: "img", "aria-label": t("plan.label", { name: p.name }), "data-level": "1",
    });
    const defs = s("defs", null,
      s("pattern", { id: "hatch", width: 0.6, height: 0.6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        s("line", { x1: 0, y1: 0, x2: 0, y2: 0.6, class: "hatch-line" })));
    const roomsLayer = s("g", { class: "rooms" });
    const eqLayer = s("g", { class: "equipment-layer" });
    // Rooms' texts above the equipment drawn in them, haloed, letting clicks through to what is below.
    const textLayer = s("g", { class: "room-texts" });
    this.el.append(defs, roomsLayer, eqLayer, textLayer);
    for (const room of p.rooms) {
      roomsLayer.append(this.drawRoom(room, defs, textLayer));
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
    // A double click (or the zoom button) goes down a level: into the room, where its values show.
    this.el.addEventListener("dblclick", (ev) => {
      const room = (ev.target as Element).closest("[data-room]");
      if (room) this.zoomToRoom(room.getAttribute("data-room")!);
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
    // Sizes follow the drawn scale: on first layout, window resizes and every zoom.
    const ro = new ResizeObserver(() => this.relayout());
    ro.observe(this.el);
    this.unsubscribe.push(() => ro.disconnect());
  }

  dispose(): void {
    for (const u of this.unsubscribe) u();
  }

  private view = { x: -1, y: -1, w: 0, h: 0 };
  private dragged = false;

  /** Wheel or two fingers to zoom, drag to pan; `resetZoom` shows the whole plant again. */
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
    // Touch: two pointers down pinch-zoom around their midpoint (and a pinch is never a click).
    const fingers = new Map<number, { x: number; y: number }>();
    let pinch = 0;
    const spread = () => {
      const [a, b] = [...fingers.values()];
      return { d: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    };
    this.el.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      fingers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
      if (fingers.size === 2) {
        start = null;
        this.dragged = true;
        pinch = spread().d;
        return;
      }
      this.dragged = false;
      start = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y, id: ev.pointerId };
    });
    this.el.addEventListener("pointermove", (ev) => {
      if (fingers.has(ev.pointerId)) fingers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
      if (pinch && fingers.size === 2) {
        const now = spread();
        if (!now.d) return;
        const at = toPlant(now.x, now.y);
        const w = Math.min(Math.max(this.view.w * (pinch / now.d), 12), p.width + 2);
        const k = w / this.view.w;
        pinch = now.d;
        this.setView({ x: at.x - (at.x - this.view.x) * k, y: at.y - (at.y - this.view.y) * k, w, h: this.view.h * k });
        return;
      }
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
    const end = (ev: PointerEvent) => {
      fingers.delete(ev.pointerId);
      if (fingers.size < 2) pinch = 0;
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

  /** The room (or the selected equipment's room) filling the plan: level 2, its values shown. */
  zoomToRoom(code: string): void {
    const room = this.index.rooms.get(code);
    if (!room) return;
    const b = bbox(room.polygon);
    const m = 1;
    this.setView({ x: b.x0 - m, y: b.y0 - m, w: b.x1 - b.x0 + 2 * m, h: b.y1 - b.y0 + 2 * m });
  }

  zoomToSelection(): void {
    const sel = this.selection;
    if (!sel) return;
    const code = sel.kind === "room" ? sel.code : this.index.equipment.get(sel.code)?.roomCode;
    if (code) this.zoomToRoom(code);
  }

  private setView(v: { x: number; y: number; w: number; h: number }): void {
    this.view = v;
    this.el.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    this.relayout();
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
    this.selection = sel;
    if (sel) {
      const node = sel.kind === "room" ? this.roomNodes.get(sel.code)?.g : this.eqNodes.get(sel.code)?.g;
      if (node) {
        node.classList.add("selected");
        this.selected = node;
      }
    }
    this.onSelect(sel);
  }

  /** The batch and phase running in each room: the room's state line; rooms without one show their equipment. */
  setRunning(byRoom: Map<string, string>): void {
    for (const [code, n] of this.roomNodes) {
      const line = byRoom.get(code) ?? "";
      if (line === n.running) continue;
      n.running = line;
      this.layoutRoom(n);
    }
  }

  private drawRoom(room: Room, defs: SVGDefsElement, textLayer: SVGGElement): SVGGElement {
    const pts = room.polygon.map(([x, y]) => `${x},${y}`).join(" ");
    const clipId = `clip-${room.code}`;
    defs.append(s("clipPath", { id: clipId }, s("polygon", { points: pts })));
    const gradeText = room.grade === "CNC" ? t("room.gradeCNCShort") : t("room.grade", { grade: room.grade });
    const code = s("text", { class: "room-label" }, s("tspan", { class: "room-code" }, room.code));
    const name = s("text", { class: "room-name", "data-room-name": room.code });
    for (let i = 0; i < NAME_LINES; i++) name.append(s("tspan", { class: "room-name-line" }));
    const grade = s("text", { class: "room-grade", "text-anchor": "end" }, gradeText);
    const batch = s("text", { class: "room-batch", "data-room-batch": room.code },
      s("tspan", null), s("tspan", null));
    const state = s("text", { class: "room-state", "data-room-state": room.code });
    const count = s("text", { class: "room-alarm-count", "data-room-alarms": room.code, "text-anchor": "end" });
    const values = s("text", { class: "room-values" });
    // A cold room's state is its air temperature (what its GMP status hangs on); other rooms show their equipment.
    const cold = this.index.coldRooms().some((r) => r.code === room.code) ? this.index.roomTemperature(room.code) : undefined;
    let word: SVGTSpanElement | null = null;
    if (cold) {
      const value = s("tspan", { class: "v", "data-tag": cold.tag });
      const mark = s("tspan", { class: "q" });
      state.append(value, mark);
      this.addValue(cold, value, mark);
    } else {
      word = s("tspan", { class: "room-state-word" });
      state.append(word);
    }
    const candidates = ROOM_KINDS
      .map((k) => this.index.roomSensors(room.code).filter((sn) => sn.kind === k).sort((a, b) => a.tag.localeCompare(b.tag))[0])
      .filter((sn): sn is Sensor => !!sn && sn.tag !== cold?.tag);
    const door = this.index.roomSensors(room.code).find((sn) => sn.kind === "door");
    const all = door ? [...candidates, door] : candidates;
    const valueSpans: SVGTSpanElement[] = [];
    for (const sn of all) {
      const value = s("tspan", { class: "v", "data-tag": sn.tag });
      const mark = s("tspan", { class: "q" });
      values.append(value, mark);
      valueSpans.push(value);
      this.addValue(sn, value, mark);
    }
    const holder = s("g", { class: "alarm-holder" });
    const g = s("g", {
      class: "room", "data-room": room.code, tabindex: 0, role: "button",
      "aria-label": `${room.code} ${room.name}`,
    },
    s("title", null, `${room.code} — ${room.name} (${gradeText})`),
    s("polygon", { class: "room-shape", points: pts }),
    holder);
    const texts = s("g", { "clip-path": `url(#${clipId})`, "data-texts-of": room.code }, code, name, grade, state, batch, values, count);
    textLayer.append(texts);
    this.roomNodes.set(room.code, {
      room, g, texts, marker: { holder, target: g, alarm: null }, code, grade, gradeText, name, state, word, batch,
      running: "", count, values, valueSpans,
      samples: all.filter((sn) => sn.kind !== "door").map((sn) => (isState(sn) ? t("state.closed") : `-00.0 ${sn.unit}`)),
    });
    return g;
  }

  private drawEquipment(code: string): SVGGElement {
    const e = this.index.equipment.get(code)!;
    const sensors = this.index.sensorsOf(code);
    const primary = sensors.find((sn) => sn.highLimit !== null || sn.lowLimit !== null) ?? sensors[0];
    const status = s("text", { class: "eq-status", x: e.x, "text-anchor": "middle" }, "");
    const holder = s("g", { class: "alarm-holder" });
    const g = s("g", {
      class: "eq", "data-eq": code, "data-status": "", tabindex: 0, role: "button", "aria-label": `${code} ${e.name}`,
    },
    s("title", null, `${code} — ${e.name}`),
    s("rect", { class: "eq-body", x: e.x - EQ_W / 2, y: e.y - EQ_H / 2, width: EQ_W, height: EQ_H, rx: 0.2 }),
    status);
    let label: SVGTextElement | null = null;
    if (primary) {
      label = s("text", { class: "eq-value", x: e.x, "text-anchor": "middle" });
      const value = s("tspan", { class: "v", "data-tag": primary.tag });
      const mark = s("tspan", { class: "q" });
      label.append(value, mark);
      g.append(label);
      this.addValue(primary, value, mark);
    }
    g.append(holder);
    const sample = primary ? (isState(primary) ? t("state.closed") : `-00.0 ${primary.unit}`) : "";
    this.eqNodes.set(code, { g, status, label, sample, marker: { holder, target: g, alarm: null } });
    return g;
  }

  /** Screen px per metre now, or 0 before the plan is laid out. */
  private currentScale(): number {
    const m = this.el.getScreenCTM();
    return m && this.el.isConnected ? Math.abs(m.a) : 0;
  }

  /** Place and size every text for the current scale; hide what cannot be drawn at 12 px or more. */
  private relayout(): void {
    const scale = this.currentScale();
    if (!scale) return;
    this.scale = scale;
    this.measure.setFamily(getComputedStyle(this.el).fontFamily);
    const whole = this.view.w >= this.index.plant.width + 2 - 1e-6 && this.view.h >= this.index.plant.height + 2 - 1e-6;
    this.el.setAttribute("data-level", whole ? "1" : "2");
    for (const n of this.roomNodes.values()) this.layoutRoom(n);
    for (const [code, n] of this.eqNodes) this.layoutEquipment(code, n);
  }

  private layoutRoom(n: RoomNode): void {
    const k = this.scale;
    if (!k) return;
    const u = (px: number) => px / k; // screen px to metres
    const pad = u(PX.pad);
    n.texts.setAttribute("stroke-width", String(u(PX.halo)));
    const c = corners(n.room.polygon);
    const b = bbox(n.room.polygon);
    const widthPx = (c.topRight[0] - c.top[0]) * k - 2 * PX.pad;
    const x = c.top[0] + pad;
    let y = c.top[1] + pad;
    const bottom = b.y1 - pad;
    const place = (el: SVGTextElement, px: number) => {
      el.setAttribute("font-size", String(u(px)));
      el.setAttribute("x", String(x));
      el.setAttribute("y", String(y + u(px * 0.95)));
      y += u(px * 1.25);
    };
    const show = (el: Element, on: boolean) => {
      if (on) el.removeAttribute("display");
      else el.setAttribute("display", "none");
    };
    // Line 1: code, alarm symbol and count at the right, the grade between when it fits.
    const symPx = PX.sym * 2;
    const alarmCount = this.alarmCount(n.room.code);
    const countText = alarmCount ? t("plan.alarmCount", { n: alarmCount }) : "";
    if (n.count.textContent !== countText) n.count.textContent = countText;
    const countPx = countText ? this.measure.width(countText, PX.state, true) + 4 : 0;
    const codePx = this.measure.width(n.room.code, PX.code, true);
    const lineY = y;
    const codeFits = codePx <= widthPx;
    show(n.code, codeFits);
    place(n.code, PX.code);
    n.marker.holder.setAttribute("transform",
      `translate(${c.topRight[0] - pad - u(PX.sym)},${lineY + u(PX.sym)}) scale(${u(PX.sym)})`);
    n.count.setAttribute("font-size", String(u(PX.state)));
    n.count.setAttribute("x", String(c.topRight[0] - pad - u(symPx + 4)));
    n.count.setAttribute("y", String(lineY + u(PX.state * 0.95)));
    const gradeRoom = widthPx - codePx - symPx - countPx - 2 * PX.gap;
    const gradeFits = this.measure.width(n.gradeText, PX.state) <= gradeRoom;
    show(n.grade, gradeFits);
    n.grade.setAttribute("font-size", String(u(PX.state)));
    n.grade.setAttribute("x", String(c.topRight[0] - pad - u(symPx + countPx + PX.gap)));
    n.grade.setAttribute("y", String(lineY + u(PX.state * 0.95)));
    if (alarmCount || n.marker.alarm) y = Math.max(y, lineY + u(symPx + 2));
    // The values line (level 2) at the bottom wall, only when zoomed in and the line fits.
    const level2 = this.el.getAttribute("data-level") !== "1";
    const bottomPx = bottomEdge(n.room.polygon) * k - 2 * PX.pad;
    const valuesPx = n.samples.reduce((a, sm) => a + this.measure.width(sm, PX.value) + PX.gap, 0);
    // State: the running batch and phase, else a cold room's temperature or the equipment's state.
    const lines = Math.floor((bottom - y) / u(PX.name * 1.25));
    // A cold room's temperature is what its GMP status hangs on: in a narrow room it is drawn with less
    // padding, else turned upright along the wall, and the name gives up lines for it before it is hidden.
    const temp = n.word ? "" : this.temperatureFit(widthPx, (bottom - y) * k);
    const tempLines = temp === "turned"
      ? Math.ceil((this.measure.width(TEMP_SAMPLE, PX.state) + PX.gap) / (PX.name * 1.25)) : 1;
    const reserve = (n.running ? 2 : 0) + tempLines + (level2 ? 1 : 0);
    const nameLines = Math.max(0, Math.min(NAME_LINES, lines - reserve));
    const words = nameLines ? this.measure.wrap(n.room.name, PX.name, widthPx, nameLines) : [];
    n.name.setAttribute("font-size", String(u(PX.name)));
    const spans = n.name.querySelectorAll("tspan");
    spans.forEach((sp, i) => {
      const text = words[i] ?? "";
      if (sp.textContent !== text) sp.textContent = text;
      sp.setAttribute("x", String(x));
      sp.setAttribute("y", String(y + u(PX.name * (0.95 + 1.25 * i))));
      show(sp, !!text);
    });
    y += u(PX.name * 1.25) * words.length;
    const roomFor = (px: number) => y + u(px * 1.25) <= bottom + 1e-9;
    // The batch and phase on up to two lines (the space kept between them: the text reads whole).
    const batchLines = n.running ? this.measure.wrap(`▶ ${n.running}`, PX.state, widthPx, 2, true) : [];
    const batchOn = batchLines.length > 0 && roomFor(PX.state);
    show(n.batch, batchOn);
    n.batch.setAttribute("font-size", String(u(PX.state)));
    n.batch.querySelectorAll("tspan").forEach((sp, i) => {
      const text = (batchLines[i] ?? "") + (i < batchLines.length - 1 && !batchLines[i].endsWith("-") ? " " : "");
      if (sp.textContent !== text) sp.textContent = text;
      sp.setAttribute("x", String(x));
      sp.setAttribute("y", String(y + u(PX.state * (0.95 + 1.25 * i))));
    });
    if (batchOn) y += u(PX.state * 1.25) * batchLines.length;
    if (n.word) {
      const word = this.roomStateWord(n.room);
      const fitted = this.measure.fit(word, PX.state, widthPx);
      if (n.word.textContent !== fitted) n.word.textContent = fitted;
      show(n.state, !n.running && !!fitted && roomFor(PX.state));
      if (!n.running) place(n.state, PX.state);
    } else {
      y += this.placeTemperature(n, temp, x, y, bottom);
    }
    const valuesOn = level2 && valuesPx <= bottomPx && y + u(PX.value * 1.25) <= bottom + 1e-9;
    show(n.values, valuesOn);
    n.values.setAttribute("font-size", String(u(PX.value)));
    n.values.setAttribute("x", String(c.bottom[0] + pad));
    n.values.setAttribute("y", String(b.y1 - pad - u(PX.value * 0.25)));
    n.valueSpans.forEach((sp, i) => sp.setAttribute("dx", i ? String(u(PX.gap)) : "0"));
  }

  /**
   * How a cold room's temperature fits its room at this scale (screen px): on a line of its own ("line"), the
   * same with the walls' padding cut to a hair ("tight"), turned to read upwards along the left wall ("turned",
   * for tall narrow rooms), or not at all ("") when even that would need text under 12 px.
   */
  private temperatureFit(widthPx: number, heightPx: number): TempFit {
    const len = this.measure.width(TEMP_SAMPLE, PX.state);
    const lineH = PX.state * 1.25;
    if (len <= widthPx && lineH <= heightPx) return "line";
    if (len <= widthPx + 2 * (PX.pad - PX.tight) && lineH <= heightPx) return "tight";
    if (lineH <= widthPx && len + PX.gap <= heightPx) return "turned";
    return "";
  }

  /** Draws a cold room's temperature as `temperatureFit` decided, between `y` and `bottom`; the metres it took. */
  private placeTemperature(n: RoomNode, fit: TempFit, x: number, y: number, bottom: number): number {
    const u = (px: number) => px / this.scale;
    const el = n.state;
    const c = corners(n.room.polygon);
    const left = c.top[0];
    // What the name and batch lines left below them (they gave up lines for it, unless a batch took them).
    const len = fit === "turned" ? this.measure.width(TEMP_SAMPLE, PX.state) + PX.gap : PX.state * 1.25;
    const how = y + u(len) <= bottom + 1e-9 ? fit : "";
    el.setAttribute("font-size", String(u(PX.state)));
    if (how === "turned") {
      // Reads upwards from the bottom wall; its glyphs stand left of the baseline, so the baseline is set in.
      const bx = left + u(PX.pad + PX.state * 0.95);
      const by = bottom;
      el.setAttribute("x", String(bx));
      el.setAttribute("y", String(by));
      el.setAttribute("transform", `rotate(-90 ${bx} ${by})`);
    } else {
      el.removeAttribute("transform");
      // Tight: centred between the walls, as far from each as the room allows.
      const spare = ((c.topRight[0] - left) * this.scale - this.measure.width(TEMP_SAMPLE, PX.state)) / 2;
      el.setAttribute("x", String(how === "tight" ? left + u(Math.max(PX.tight, spare)) : x));
      el.setAttribute("y", String(y + u(PX.state * 0.95)));
    }
    if (how) el.removeAttribute("display");
    else el.setAttribute("display", "none");
    el.setAttribute("data-fit", how || "hidden");
    return how ? u(len) : 0;
  }

  private layoutEquipment(code: string, n: EqNode): void {
    const k = this.scale;
    const u = (px: number) => px / k;
    const e = this.index.equipment.get(code)!;
    const level2 = this.el.getAttribute("data-level") !== "1";
    const widest = Math.max(...["RUN", "IDLE", "MAINT", "OOS", "FAULT"].map((w) => this.measure.width(statusShort(w), PX.eqStatus, true)));
    const statusOn = level2 && widest + 4 <= EQ_W * k && PX.eqStatus * 1.15 <= EQ_H * k;
    n.status.setAttribute("display", statusOn ? "inline" : "none");
    n.status.setAttribute("font-size", String(u(PX.eqStatus)));
    n.status.setAttribute("y", String(e.y + u(PX.eqStatus * 0.36)));
    if (n.label) {
      // Below the symbol, unless the room's wall is too close: then above it.
      const room = this.index.rooms.get(e.roomCode);
      const wall = room ? bbox(room.polygon).y1 : Number.POSITIVE_INFINITY;
      const below = e.y + EQ_H / 2 + u(PX.eqValue * 1.05);
      const y = wall - below < u(PX.value * 2) ? e.y - EQ_H / 2 - u(PX.eqValue * 0.3) : below;
      const on = level2 && this.measure.width(n.sample, PX.eqValue) <= (EQ_W + 1.2) * k;
      n.label.setAttribute("display", on ? "inline" : "none");
      n.label.setAttribute("font-size", String(u(PX.eqValue)));
      n.label.setAttribute("y", String(y));
    }
    n.marker.holder.setAttribute("transform",
      `translate(${e.x - EQ_W / 2},${e.y - EQ_H / 2}) scale(${u(PX.sym)})`);
  }

  /** A room's state word from its equipment: how many run, else maintenance or a fault, else idle. */
  private roomStateWord(room: Room): string {
    let running = 0;
    let maint = 0;
    let fault = 0;
    for (const e of room.equipment) {
      const st = this.store.equipment.get(e.code) ?? "IDLE";
      if (st === "RUNNING") running++;
      else if (st === "MAINTENANCE" || st === "OUT_OF_SERVICE") maint++;
      else if (st === "FAULT") fault++;
    }
    if (fault) return t("plan.state.fault", { n: fault });
    if (running) return t("plan.state.running", { n: running });
    if (maint) return t("plan.state.maintenance", { n: maint });
    return room.equipment.length ? t("plan.state.idle") : "";
  }

  private alarmCount(room: string): number {
    let n = 0;
    for (const a of this.alarms.standing()) if (a.roomCode === room) n++;
    return n;
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
    const rooms = new Set<string>();
    for (const code of c.equipment) {
      const n = this.eqNodes.get(code);
      if (!n) continue;
      const st = this.store.equipment.get(code) ?? "IDLE";
      if (n.g.getAttribute("data-status") !== st) {
        n.g.setAttribute("data-status", st);
        n.status.textContent = statusShort(st);
        const room = this.index.equipment.get(code)?.roomCode;
        if (room) rooms.add(room);
      }
    }
    for (const code of rooms) {
      const n = this.roomNodes.get(code);
      if (n) this.layoutRoom(n);
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
    // Symbols of radius 1, scaled by their holder to a constant size on screen (see layoutRoom).
    for (const [code, n] of this.roomNodes) {
      this.mark(n.marker, worst.rooms.get(code) ?? null, 1);
      this.layoutRoom(n);
    }
    for (const [code, n] of this.eqNodes) this.mark(n.marker, worst.equipment.get(code) ?? null, 1);
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
