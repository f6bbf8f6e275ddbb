/** The QC laboratory on a tablet: the analyst's worklist, the reviewer's queue and the instrument import,
 * large targets. */

import { session } from "../api/session";
import { h } from "../dom";
import { importScreen } from "./import";
import { reviewScreen } from "./review";
import { worklistScreen } from "./worklist";
import { t } from "../i18n";

const TABS = ["worklist", "review", "import"].map((id) => ({ id }));

export function mountLab(root: HTMLElement, sub: string): () => void {
  // Reviewers land on their queue; everyone else (analysts) on the worklist.
  const reviewer = session.viewer?.roles.includes("qc_reviewer") && !session.viewer.roles.includes("qc_analyst");
  const tab = TABS.some((x) => x.id === sub) ? sub : reviewer ? "review" : "worklist";
  const nav = h("nav", { class: "tablet-tabs lab-tabs", "aria-label": t("lab.label") }, ...TABS.map((x) =>
    h("a", { href: `#/lab/${x.id}`, class: x.id === tab ? "active" : "", "aria-current": x.id === tab ? "page" : null },
      t(`lab.tab.${x.id}`))));
  const body = h("div", { class: "tablet-body" }, tab === "review" ? reviewScreen()
    : tab === "import" ? importScreen() : worklistScreen());
  root.replaceChildren(h("div", { class: "tablet" }, nav, body));
  return () => undefined;
}
