/** The QC laboratory on a tablet: the analyst's worklist, the reviewer's queue and the instrument import,
 * large targets. */

import { session } from "../api/session";
import { h } from "../dom";
import { importScreen } from "./import";
import { reviewScreen } from "./review";
import { worklistScreen } from "./worklist";

const TABS = [
  { id: "worklist", text: "Worklist" },
  { id: "review", text: "Review queue" },
  { id: "import", text: "Instrument import" },
];

export function mountLab(root: HTMLElement, sub: string): () => void {
  // Reviewers land on their queue; everyone else (analysts) on the worklist.
  const reviewer = session.viewer?.roles.includes("qc_reviewer") && !session.viewer.roles.includes("qc_analyst");
  const tab = TABS.some((t) => t.id === sub) ? sub : reviewer ? "review" : "worklist";
  const nav = h("nav", { class: "tablet-tabs lab-tabs", "aria-label": "QC laboratory" }, ...TABS.map((t) =>
    h("a", { href: `#/lab/${t.id}`, class: t.id === tab ? "active" : "", "aria-current": t.id === tab ? "page" : null }, t.text)));
  const body = h("div", { class: "tablet-body" }, tab === "review" ? reviewScreen()
    : tab === "import" ? importScreen() : worklistScreen());
  root.replaceChildren(h("div", { class: "tablet" }, nav, body));
  return () => undefined;
}
