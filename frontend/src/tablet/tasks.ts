/** The tablet's task list: cold rooms due for a check and alarms waiting for acknowledgement. */

import type { StandingQuery, TasksQuery } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { fmtTime, h } from "../dom";
import { ALARM_FIELDS, AlarmStore } from "../control/alarms";
import { openAckDialog } from "../ui/ackDialog";
import { toast } from "../ui/modal";

type Task = TasksQuery["tabletTasks"][number];

const TASKS = /* GraphQL */ `query Tasks { tabletTasks { kind title roomCode dueAt alarmId } }`;
const STANDING = /* GraphQL */ `query Standing {
  alarms(active: true, first: 500) { edges { node { ...AlarmFields } } }
} ${ALARM_FIELDS}`;

export function tasksScreen(go: (hash: string) => void): { el: HTMLElement; dispose(): void } {
  const list = h("ul", { class: "task-list", "data-testid": "task-list" });
  const status = h("p", { class: "muted", role: "status" }, "Loading tasks…");
  const refresh = h("button", { class: "big", type: "button" }, "Refresh");
  const el = h("section", { class: "tablet-screen", "data-screen": "tasks" },
    h("div", { class: "list-head" }, h("h2", null, "Tasks"), h("span", { class: "spacer" }), refresh), status, list);
  const alarms = new AlarmStore(); // only for signing acknowledgements here; no subscription
  const load = async () => {
    try {
      const d = await gql<TasksQuery>(TASKS);
      status.textContent = d.tabletTasks.length ? `${d.tabletTasks.length} open, by due time` : "Nothing due.";
      list.replaceChildren(...d.tabletTasks.map((t) => item(t)));
    } catch (e) {
      status.textContent = `Tasks not available: ${errorText(e)}`;
      status.className = "error";
    }
  };
  const item = (t: Task) => {
    const overdue = new Date(t.dueAt).getTime() < Date.now();
    const action = t.kind === "COLD_ROOM_CHECK"
      ? h("button", { class: "big primary", onClick: () => go(`#/tablet/cold?room=${encodeURIComponent(t.roomCode ?? "")}`) }, "Check now")
      : t.kind === "ALARM_ACK" && t.alarmId !== null
        ? h("button", { class: "big primary", onClick: () => void ack(t.alarmId!) }, "Acknowledge")
        : "";
    return h("li", { class: `task ${overdue ? "overdue" : ""}`, "data-kind": t.kind, "data-room": t.roomCode ?? "" },
      h("div", null,
        h("div", { class: "task-title" }, t.title),
        h("div", { class: "muted" }, `${t.roomCode ?? ""} · due ${fmtTime(t.dueAt)}${overdue ? " · OVERDUE" : ""}`)),
      action);
  };
  const ack = async (id: number) => {
    try {
      const d = await gql<StandingQuery>(STANDING);
      const a = d.alarms.edges.map((e) => e.node).find((x) => x.id === id);
      if (!a) {
        toast(`Alarm #${id} is no longer waiting for acknowledgement`);
        void load();
        return;
      }
      openAckDialog(a, alarms);
    } catch (e) {
      toast(`Alarm not available: ${errorText(e)}`, "error", 8000);
    }
  };
  const off = alarms.onChange(() => void load());
  refresh.addEventListener("click", () => void load());
  const timer = window.setInterval(() => void load(), 30_000);
  void load();
  return { el, dispose: () => { off(); window.clearInterval(timer); } };
}
