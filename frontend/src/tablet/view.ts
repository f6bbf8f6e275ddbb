/** The tablet app for clean areas: large targets, one task per screen. */

import { h } from "../dom";
import { loadPlant, type PlantIndex } from "../control/plant";
import { batchScreen } from "./batch";
import { clearanceScreen } from "./clearance";
import { coldRoomScreen } from "./coldRoom";
import { pickingScreen } from "./picking";
import { samplingScreen } from "./sampling";
import { tasksScreen } from "./tasks";
import { t } from "../i18n";

const TABS = ["tasks", "batch", "picking", "sample", "cold", "clearance"].map((id) => ({ id }));

let plantCache: Promise<PlantIndex> | null = null;

export async function mountTablet(root: HTMLElement, sub: string, query: URLSearchParams): Promise<() => void> {
  const tab = TABS.some((x) => x.id === sub) ? sub : "tasks";
  const go = (hash: string) => {
    location.hash = hash;
  };
  const nav = h("nav", { class: "tablet-tabs", "aria-label": t("tablet.tabsLabel") }, ...TABS.map((x) =>
    h("a", { href: `#/tablet/${x.id}`, class: x.id === tab ? "active" : "", "aria-current": x.id === tab ? "page" : null },
      t(`tablet.tab.${x.id}`))));
  const body = h("div", { class: "tablet-body" }, h("p", { class: "muted" }, t("common.loading")));
  root.replaceChildren(h("div", { class: "tablet" }, nav, body));
  let dispose = () => {};
  if (tab === "tasks") {
    const s = tasksScreen(go);
    body.replaceChildren(s.el);
    dispose = s.dispose;
  } else if (tab === "picking") {
    body.replaceChildren(pickingScreen(query.get("list"), go));
  } else if (tab === "sample") {
    body.replaceChildren(samplingScreen());
  } else {
    plantCache ??= loadPlant();
    let index: PlantIndex;
    try {
      index = await plantCache;
    } catch (e) {
      plantCache = null;
      throw e;
    }
    if (tab === "batch") {
      const b = batchScreen(index, query.get("b"), go);
      body.replaceChildren(b.el);
      dispose = b.dispose;
    } else if (tab === "cold") {
      const c = coldRoomScreen(index, query.get("room"));
      body.replaceChildren(c.el);
      dispose = c.dispose;
    } else {
      body.replaceChildren(clearanceScreen(index));
    }
  }
  return () => dispose();
}
