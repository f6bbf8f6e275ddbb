/** The control room: alarm banner, floor plan, details and the alarm list. */

import type { CamerasQuery } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { toast } from "../ui/modal";
import { t } from "../i18n";
import { alarmBanner, alarmList } from "./alarmPanel";
import { AlarmStore } from "./alarms";
import { CAMERAS, DetailsPanel, type Camera } from "./details";
import { FloorPlan, type Selection } from "./floorplan";
import { loadPlant } from "./plant";
import { Production } from "./production";
import { LiveStore } from "./store";

export async function mountControlRoom(root: HTMLElement): Promise<() => void> {
  root.replaceChildren(h("div", { class: "loading" }, t("control.loading")));
  const index = await loadPlant();
  const store = new LiveStore(index);
  const alarms = new AlarmStore();
  let cameras: Camera[] = [];
  let plan: FloorPlan | null = null;
  const production = new Production(store);
  const details = new DetailsPanel(index, store, alarms, () => cameras, (sel: Selection) => plan?.select(sel), production);
  plan = new FloorPlan(index, store, alarms, (sel) => details.show(sel));
  production.onChange(() => plan?.setRunning(production.byRoom()));
  const list = alarmList(alarms, (a) => {
    if (a.equipmentCode && index.equipment.has(a.equipmentCode)) plan?.select({ kind: "equipment", code: a.equipmentCode });
    else if (a.roomCode) plan?.select({ kind: "room", code: a.roomCode });
  });
  const banner = alarmBanner(alarms, (a) => list.highlight(a.id));
  const liveLine = h("div", { class: "live-line muted", "aria-live": "off" });
  const zoom = h("div", { class: "plan-zoom", role: "group", "aria-label": t("control.zoom") },
    h("button", { class: "small", title: t("control.zoomIn"), onClick: () => plan?.zoom(1 / 1.4) }, "+"),
    h("button", { class: "small", title: t("control.zoomOut"), onClick: () => plan?.zoom(1.4) }, "−"),
    h("button", { class: "small", title: t("control.zoomRoomHint"), "data-testid": "zoom-room",
      onClick: () => plan?.zoomToSelection() }, t("control.zoomRoom")),
    h("button", { class: "small", title: t("control.wholePlant"), onClick: () => plan?.resetZoom() }, t("control.fit")));
  const planBox = h("div", { class: "plan-box" }, plan.el, zoom, liveLine);
  root.replaceChildren(h("div", { class: "control-room" },
    banner.el,
    h("div", { class: "control-main" }, planBox, details.el),
    list.el));
  store.start(250);
  alarms.start();
  const timer = window.setInterval(() => {
    const age = store.lastMessageAt ? Math.round((Date.now() - store.lastMessageAt) / 1000) : null;
    liveLine.textContent = store.error
      ? t("control.liveRefused", { error: store.error })
      : t("control.liveLine", { plant: index.plant.name, tags: index.sensors.size, readings: store.readings, messages: store.messages })
        + (age === null ? t("control.waiting")
          : t("control.lastUpdate", { age, time: fmtTime(new Date(store.lastMessageAt).toISOString()).slice(11) }));
    liveLine.classList.toggle("error", !!store.error);
  }, 1000);
  gql<CamerasQuery>(CAMERAS).then((d) => {
    cameras = d.cameras;
    plan?.addCameras(cameras);
  }).catch((e) => toast(t("control.noCameras", { error: errorText(e) }), "error", 8000));
  return () => {
    window.clearInterval(timer);
    production.dispose();
    store.dispose();
    alarms.dispose();
    plan?.dispose();
    details.dispose();
    banner.dispose();
    list.dispose();
  };
}
