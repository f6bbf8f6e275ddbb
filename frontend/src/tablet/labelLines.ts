/** A printed label's lines (issue 15): the field name in the reader's language by its stable key, with the
 * English beneath when that is Chinese, so people of either language read the GMP label; values as sent. */

import { h } from "../dom";
import { has, lang, t } from "../i18n";

export interface LabelLineRow {
  key: string;
  label: string;
  value: string;
}

function fieldName(l: LabelLineRow): HTMLElement {
  if (!has(`labelLine.${l.key}`)) return h("th", null, l.label); // not catalogued: its English as printed
  const name = t(`labelLine.${l.key}`);
  if (lang() === "en" || name === l.label) return h("th", null, name);
  return h("th", { lang: lang() }, name, h("br"), h("small", { lang: "en", class: "label-line-en" }, l.label));
}

export function labelLinesTable(lines: readonly LabelLineRow[]): HTMLElement {
  return h("table", { class: "label-lines" }, h("tbody", null,
    ...lines.map((l) => h("tr", { "data-key": l.key }, fieldName(l), h("td", null, l.value)))));
}
