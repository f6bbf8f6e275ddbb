/** The result lines of a test record as a table: raw, reported, verdict, analyst and corrections. */

import { fmtTime, h } from "../dom";
import { t } from "../i18n";
import { enumLabel } from "../i18n/enums";

export interface Line {
  id: number;
  item: string;
  raw: string;
  reported: string;
  verdict: string;
  analyst: string;
  current: boolean;
  inputs?: { name: string; value: string }[];
  enteredAt?: string;
  replacesId?: number | null;
  correctionReason?: string | null;
}

export function linesTable(lines: Line[]): HTMLElement {
  return h("div", { class: "lab-lines-wrap" }, h("table", { class: "lab-lines" },
    h("thead", null, h("tr", null, ...["item", "raw", "reported", "verdict", "analyst", "entered", "correction"]
      .map((c) => h("th", null, t(`lab.col.${c}`))))),
    h("tbody", null, ...lines.map((l) => h("tr", { class: `${l.current ? "" : "replaced"} verdict-${l.verdict}`, "data-line": l.id },
      h("td", null, l.item),
      h("td", null, l.raw, l.inputs?.length ? h("small", { class: "muted" },
        ` (${l.inputs.map((i) => `${i.name} = ${i.value}`).join(", ")})`) : null),
      h("td", null, l.reported),
      h("td", { class: "verdict" }, enumLabel("Verdict", l.verdict)),
      h("td", null, l.analyst),
      h("td", null, l.enteredAt ? fmtTime(l.enteredAt) : "—"),
      h("td", null, l.current ? (l.replacesId ? t("lab.corrects", { line: l.replacesId, reason: l.correctionReason ?? "" }) : "")
        : t("lab.replaced")))))));
}
