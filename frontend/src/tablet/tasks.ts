/** The tablet's task list: cold rooms due for a check and alarms waiting for acknowledgement. */

import type { StandingQuery, TasksQuery } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { ALARM_FIELDS, AlarmStore } from "../control/alarms";
import { openAckDialog } from "../ui/ackDialog";
import { toast } from "../ui/modal";
import { t } from "../i18n";

type Task = TasksQuery["tabletTasks"][number];

const TASKS = /* GraphQL */ `query Tasks { tabletTasks { kind title roomCode dueAt alarmId } }`;
const STANDING = /* GraphQL */ `query Standing {
  alarms(active: true, first: 500) { edges { node { ...AlarmFields } } }
} ${ALARM_FIELDS}`;

/** The task in the reader's language; the server's (English) title stays as the tooltip (resolvers/tablet.py). */
function taskTitle(k: Task): string {
  if (k.kind === "COLD_ROOM_CHECK" && k.roomCode) return t("tasks.title.COLD_ROOM_CHECK", { room: k.roomCode });
  if (k.kind === "ALARM_ACK") {
    const prefix = "Acknowledge: ";
    return t("tasks.title.ALARM_ACK", { message: k.title.startsWith(prefix) ? k.title.slice(prefix.length) : k.title });
  }
  return k.title;
}

export function tasksScreen(go: (hash: string) => void): { el: HTMLElement; dispose(): void } {
  const list = h("ul", { class: "task-list", "data-testid": "task-list" });
  const status = h("p", { class: "muted", role: "status" }, t("tasks.loading"));
  const refresh = h("button", { class: "big", type: "button" }, t("common.refresh"));
  const el = h("section", { class: "tablet-screen", "data-screen": "tasks" },
    h("div", { class: "list-head" }, h("h2", null, t("tablet.tab.tasks")), h("span", { class: "spacer" }), refresh), status, list);
  const alarms = new AlarmStore(); // only for signing acknowledgements here; no subscription
  const load = async () => {
    try {
      const d = await gql<TasksQuery>(TASKS);
      status.textContent = d.tabletTasks.length ? t("tasks.count", { n: d.tabletTasks.length }) : t("tasks.none");
      list.replaceChildren(...d.tabletTasks.map((x) => item(x)));
    } catch (e) {
      status.textContent = t("tasks.failed", { error: errorText(e) });
      status.className = "error";
    }
  };
  const item = (k: Task) => {
    const overdue = new Date(k.dueAt).getTime() < Date.now();
    const action = k.kind === "COLD_ROOM_CHECK"
      ? h("button", { class: "big primary", onClick: () => go(`#/tablet/cold?room=${encodeURIComponent(k.roomCode ?? "")}`) }, t("tasks.checkNow"))
      : k.kind === "ALARM_ACK" && k.alarmId !== null
        ? h("button", { class: "big primary", onClick: () => void ack(k.alarmId!) }, t("alarms.acknowledge"))
        : "";
    return h("li", { class: `task ${overdue ? "overdue" : ""}`, "data-kind": k.kind, "data-room": k.roomCode ?? "" },
      h("div", null,
        h("div", { class: "task-title", title: k.title }, taskTitle(k)),
        h("div", { class: "muted" }, t("tasks.due", { room: k.roomCode ?? "", time: fmtTime(k.dueAt) }) + (overdue ? t("tasks.overdue") : ""))),
      action);
  };
  const ack = async (id: number) => {
    try {
      const d = await gql<StandingQuery>(STANDING);
      const a = d.alarms.edges.map((e) => e.node).find((x) => x.id === id);
      if (!a) {
        toast(t("tasks.ackGone", { id }));
        void load();
        return;
      }
      openAckDialog(a, alarms);
    } catch (e) {
      toast(t("tasks.alarmFailed", { error: errorText(e) }), "error", 8000);
    }
  };
  const off = alarms.onChange(() => void load());
  refresh.addEventListener("click", () => void load());
  const timer = window.setInterval(() => void load(), 30_000);
  void load();
  return { el, dispose: () => { off(); window.clearInterval(timer); } };
}
