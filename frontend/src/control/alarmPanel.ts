/** The alarm banner (always visible) and the alarm list with acknowledge, shelving, history and prints. */

import type { AlarmHistoryQuery, ReportQuery, ReportQueryVariables } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { fmtNumber, fmtTime, h } from "../dom";
import { openAckDialog, openGroupAckDialog } from "../ui/ackDialog";
import { saveFile } from "../ui/files";
import { alarmBadge } from "../ui/symbols";
import { toast } from "../ui/modal";
import { has, t } from "../i18n";
import { enumLabel } from "../i18n/enums";
import { alarmText } from "./alarmText";
import { ALARM_FIELDS, ackable, compareAlarms, needsAck, type Alarm, type AlarmStore, type Priority } from "./alarms";
import { openShelveDialog, shelfList, shelfMark, shelvable } from "./shelving";

const PRIORITIES: Priority[] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const REPORT = /* GraphQL */ `query Report($format: ReportFormat!) { alarmReport(format: $format) { filename contentType data count } }`;
const HISTORY = /* GraphQL */ `query AlarmHistory { alarms(first: 100) { edges { node { ...AlarmFields } } } } ${ALARM_FIELDS}`;
/** The alarm state as the list says it (longer than its enum label, which badges use). */
function stateText(state: string): string {
  return has(`alarm.stateLong.${state}`) ? t(`alarm.stateLong.${state}`) : enumLabel("AlarmState", state);
}

export function alarmBanner(store: AlarmStore, onShow: (a: Alarm) => void): { el: HTMLElement; dispose(): void } {
  const el = h("div", { class: "alarm-banner", role: "status", "aria-live": "polite", "data-testid": "alarm-banner" });
  const render = () => {
    const standing = store.standing();
    const unack = standing.filter(needsAck);
    el.replaceChildren();
    el.classList.toggle("has-alarms", unack.length > 0);
    if (store.error) el.append(h("span", { class: "banner-error" }, store.error));
    if (!standing.length) {
      el.append(h("span", { class: "muted" }, store.loaded ? t("alarms.none") : t("alarms.reading")));
      return;
    }
    const counts = h("span", { class: "counts" });
    for (const p of PRIORITIES) {
      const n = standing.filter((a) => a.priority === p).length;
      if (n) counts.append(h("span", { class: "count" }, alarmBadge({ priority: p, state: "ACKED" }, 16), ` ${n}`));
    }
    el.append(counts, h("span", { class: "muted" }, t("alarms.counts", { standing: standing.length, unack: unack.length })));
    // ISA-18.2: more than 10 alarms in 10 minutes is a flood; say so, so the operator handles it as one event.
    const recent = [...store.alarms.values()].filter((a) => Date.now() - new Date(a.raisedAt).getTime() < 600_000);
    if (recent.length > 10) {
      el.append(h("span", { class: "flood", "data-testid": "alarm-flood" },
        t("alarms.flood", { n: recent.length })));
    }
    const top = unack[0];
    if (top) {
      el.append(
        h("button", { class: "banner-top", onClick: () => onShow(top), title: `${t("alarms.showInList")}\n${top.message}` },
          alarmBadge(top, 18), ` ${fmtTime(top.raisedAt).slice(11)} ${top.roomCode ?? ""} ${alarmText(top)}`),
        ackable(top) ? h("button", { class: "small primary", onClick: () => openAckDialog(top, store) }, t("alarms.acknowledge")) : "");
    }
  };
  const off = store.onChange(render);
  render();
  return { el, dispose: off };
}

async function download(format: "CSV" | "PDF"): Promise<void> {
  try {
    const d = await gql<ReportQuery, ReportQueryVariables>(REPORT, { format });
    saveFile(d.alarmReport.data, d.alarmReport.contentType, d.alarmReport.filename);
  } catch (e) {
    toast(t("alarms.reportFailed", { error: errorText(e) }), "error", 8000);
  }
}

export function alarmList(store: AlarmStore, onPick: (a: Alarm) => void): {
  el: HTMLElement; highlight(id: number): void; dispose(): void;
} {
  let history: Alarm[] | null = null;
  let historyError: string | null = null;
  const body = h("tbody");
  const historyToggle = h("input", { type: "checkbox", "aria-label": t("alarms.includeClosedLabel") });
  const ackAll = h("button", { class: "small primary", "data-testid": "ack-all", hidden: true,
    onClick: () => openGroupAckDialog(store.standing().filter(ackable), store) }, "");
  const table = h("table", { class: "alarm-table", "data-testid": "alarm-list" },
    h("thead", null, h("tr", null,
      h("th", null, t("alarms.col.priority")), h("th", null, t("alarms.col.state")), h("th", null, t("alarms.col.raised")),
      h("th", null, t("alarms.col.room")), h("th", null, t("alarms.col.source")), h("th", null, t("alarms.col.message")),
      h("th", null, t("alarms.col.value")), h("th", null, t("alarms.col.handled")), h("th", null, ""))),
    body);
  const shelves = shelfList(store);
  const el = h("section", { class: "alarm-list", "aria-label": t("alarms.listLabel") },
    h("div", { class: "list-head" },
      h("h2", null, t("alarms.title")),
      h("label", { class: "inline" }, historyToggle, t("alarms.includeClosed")),
      h("span", { class: "spacer" }),
      ackAll,
      h("button", { class: "small", onClick: () => void download("CSV") }, t("alarms.printCsv")),
      h("button", { class: "small", onClick: () => void download("PDF") }, t("alarms.printPdf"))),
    h("div", { class: "alarm-body" }, h("div", { class: "table-scroll" }, table), shelves.el));

  const row = (a: Alarm): HTMLTableRowElement => {
    const src = a.tag ?? a.equipmentCode ?? a.cameraCode ?? enumLabel("AlarmSource", a.source);
    const value = a.value !== null ? `${fmtNumber(a.value)} / ${a.limitValue !== null ? fmtNumber(a.limitValue) : "—"}` : "";
    const shelf = a.state !== "CLOSED" ? store.shelfOf(a.tag) : undefined;
    const tr = h("tr", { "data-alarm-id": a.id, "data-state": a.state, "data-priority": a.priority,
      "data-condition": a.condition, "data-shelved": !!shelf,
      class: [needsAck(a) ? "unack" : "", shelf ? "shelved" : ""].join(" ").trim() },
    h("td", null, alarmBadge(a, 20), h("span", { class: "sr" }, enumLabel("Priority", a.priority))),
    h("td", null, h("span", { class: `state state-${a.state}` }, stateText(a.state))),
    h("td", { class: "num" }, fmtTime(a.raisedAt)),
    h("td", null, a.roomCode ?? ""),
    h("td", null, src, shelf ? shelfMark(shelf) : ""),
    // The composed text in the reader's language; the recorded (server's) message as the tooltip.
    h("td", { class: "alarm-message", title: a.message }, alarmText(a)),
    h("td", { class: "num" }, value),
    h("td", null, a.acknowledgedBy ? `${a.acknowledgedBy}: ${a.handling ?? ""}` : ""),
    h("td", { class: "row-actions" }, ackable(a)
      ? h("button", { class: "small primary", "data-ack": a.id, onClick: (ev: Event) => {
        ev.stopPropagation();
        openAckDialog(a, store);
      } }, t("alarms.acknowledge"))
      : "",
    shelvable(a, store)
      ? h("button", { class: "small", "data-shelve": a.tag, title: t("shelf.buttonTitle"), onClick: (ev: Event) => {
        ev.stopPropagation();
        openShelveDialog(a, store);
      } }, t("shelf.shelve"))
      : ""));
    tr.addEventListener("click", () => onPick(a));
    return tr;
  };

  const render = () => {
    const unacked = store.standing().filter(ackable).length;
    ackAll.hidden = unacked < 2;
    ackAll.textContent = t("alarms.ackTogether", { n: Math.min(unacked, 100) });
    const rows: Alarm[] = store.standing();
    if (history) {
      const ids = new Set(rows.map((a) => a.id));
      for (const a of history) if (!ids.has(a.id)) rows.push(store.alarms.get(a.id) ?? a);
    }
    rows.sort((a, b) => Number(a.state === "CLOSED") - Number(b.state === "CLOSED") || compareAlarms(a, b));
    body.replaceChildren(...rows.map(row));
    if (!rows.length) {
      body.append(h("tr", null, h("td", { colspan: 9, class: "muted" },
        store.error ?? historyError ?? (store.loaded ? t("alarms.noneList") : t("alarms.reading")))));
    }
  };

  historyToggle.addEventListener("change", async () => {
    if (!historyToggle.checked) {
      history = null;
      render();
      return;
    }
    try {
      const d = await gql<AlarmHistoryQuery>(HISTORY);
      history = d.alarms.edges.map((e) => e.node);
      historyError = null;
    } catch (e) {
      historyError = t("alarms.historyFailed", { error: errorText(e) });
      toast(historyError, "error", 8000);
    }
    render();
  });

  const off = store.onChange(render);
  render();
  return {
    el,
    highlight(id: number) {
      const tr = body.querySelector(`tr[data-alarm-id="${id}"]`);
      if (tr) {
        tr.scrollIntoView({ block: "nearest" });
        tr.classList.add("flash");
        setTimeout(() => tr.classList.remove("flash"), 1500);
      }
    },
    dispose() {
      off();
      shelves.dispose();
    },
  };
}
