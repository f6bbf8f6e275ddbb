/** A run's 96-well plate map: 8 rows × 12 columns, each well coloured by its outcome (controls apart), with
 * its content code and S/CO (ELISA) or Ct (PCR); a PCR well has a line per target. */

import type { InstrumentRunKind, InstrumentRunQuery } from "../api/generated";
import { h } from "../dom";
import { t } from "../i18n";

type Well = NonNullable<InstrumentRunQuery["instrumentRun"]>["wells"][number];
const ROWS = "ABCDEFGH".split("");
const COLS = Array.from({ length: 12 }, (_, i) => i + 1);
// The worst outcome of a well's lines decides its colour.
const RANK = ["NEGATIVE", "GREY_ZONE", "REACTIVE", "INVALID"];
const LEGEND = ["control", "NEGATIVE", "GREY_ZONE", "REACTIVE", "INVALID", "empty"];

export function plateMap(wells: Well[], kind: InstrumentRunKind): HTMLElement {
  const at = new Map<string, Well[]>();
  for (const w of wells) at.set(w.position, [...(at.get(w.position) ?? []), w]);
  const cell = (pos: string): HTMLElement => {
    const lines = at.get(pos) ?? [];
    if (!lines.length) return h("td", { class: "well well-empty", "data-well": pos, "data-outcome": "empty", title: `${pos}: ${t("plate.legend.empty")}` });
    const control = lines[0].role !== "SAMPLE";
    const outcome = control ? "control" : lines.map((l) => l.outcome ?? "").sort((a, b) => RANK.indexOf(b) - RANK.indexOf(a))[0] || "none";
    const values = lines.map((l) => (kind === "ELISA"
      ? (l.ratio ? `S/CO ${l.ratio}` : `OD ${l.value ?? "—"}`)
      : `${l.target ? `${l.target} ` : ""}Ct ${l.value ?? "und."}`));
    return h("td", { class: `well well-${outcome}`, "data-well": pos, "data-outcome": outcome,
      title: `${pos}: ${lines[0].content} · ${values.join(" · ")}${control ? "" : ` · ${outcome}`}` },
    h("strong", null, lines[0].content), ...values.map((v) => h("small", null, v)));
  };
  return h("div", { class: "plate-wrap" },
    h("table", { class: "plate", "data-testid": "plate-map" },
      h("thead", null, h("tr", null, h("th", null, ""), ...COLS.map((c) => h("th", null, String(c))))),
      h("tbody", null, ...ROWS.map((r) => h("tr", null, h("th", null, r), ...COLS.map((c) => cell(`${r}${c}`)))))),
    h("p", { class: "plate-legend" }, ...LEGEND.map((k) => h("span", { class: `well-${k}` }, t(`plate.legend.${k}`)))));
}
