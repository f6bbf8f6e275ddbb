/**
 * Alarm priority symbols (ISA-101 / ISA-18.2 style): each priority has its own colour AND shape
 * AND number, so nothing depends on colour alone. Unacknowledged ones blink (CSS), returned but
 * unacknowledged ones are hollow.
 */

import { s } from "../dom";
import { PRIORITY_NUMBER, type Alarm } from "../control/alarms";

function shape(p: string, r: number): SVGElement {
  switch (p) {
    case "CRITICAL": // diamond
      return s("polygon", { points: `0,${-r} ${r},0 0,${r} ${-r},0`, class: "sym-shape" });
    case "HIGH": // triangle pointing up
      return s("polygon", { points: `0,${-r} ${r},${r * 0.8} ${-r},${r * 0.8}`, class: "sym-shape" });
    case "MEDIUM": // square
      return s("rect", { x: -r * 0.8, y: -r * 0.8, width: r * 1.6, height: r * 1.6, class: "sym-shape" });
    default: // circle
      return s("circle", { r: r * 0.85, class: "sym-shape" });
  }
}

/** A symbol centred on (0,0), `r` the half size in the caller's units. */
export function alarmSymbol(a: Pick<Alarm, "priority" | "state">, r: number): SVGGElement {
  const unack = a.state === "ACTIVE" || a.state === "CLEARED";
  const cls = ["sym", `p-${a.priority}`, unack ? "unack" : "acked", a.state === "CLEARED" ? "hollow" : ""].join(" ");
  return s("g", { class: cls, "data-priority": a.priority },
    shape(a.priority, r),
    s("text", { class: "sym-num", "font-size": r * 1.05, y: a.priority === "HIGH" ? r * 0.42 : r * 0.36,
      "text-anchor": "middle" }, PRIORITY_NUMBER[a.priority]),
  );
}

/** The same symbol as a small inline SVG for HTML lists. */
export function alarmBadge(a: Pick<Alarm, "priority" | "state">, px = 22): SVGSVGElement {
  return s("svg", { class: "sym-badge", width: px, height: px, viewBox: "-1.1 -1.1 2.2 2.2", "aria-hidden": "true" },
    alarmSymbol(a, 1));
}
