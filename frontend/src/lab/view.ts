/** The QC laboratory on a tablet: the analyst's worklist and the reviewer's queue, large targets. */

import { session } from "../api/session";
import { h } from "../dom";
import { reviewScreen } from "./review";
import { worklistScreen } from "./worklist";

const TABS = [
  { id: "worklist", text: "Worklist" },
  { id: "review", text: "Review queue" },
];

export function mountLab(root: HTMLElement, sub: string): () => void {
  // Reviewers land on their queue; everyone else (analysts) on the worklist.
  const reviewer = session.viewer?.roles.includes("qc_reviewer") && !session.viewer.roles.includes("qc_analyst");
  const tab = TABS.some((t) => t.id === sub) ? sub : reviewer ? "review" : "worklist";
  const nav = h("nav", { class: "tablet-tabs lab-tabs", "aria-label": "QC laboratory" }, ...TABS.map((t) =>
    h("a", { href: `#/lab/${t.id}`, class: t.id === tab ? "active" : "", "aria-current": t.id === tab ? "page" : null }, t.text)));
  const body = h("div", { class: "tablet-body" }, tab === "review" ? reviewScreen() : worklistScreen());
  root.replaceChildren(h("div", { class: "tablet" }, nav, body));
  return () => undefined;
}
