/**
 * An alarm's message in the reader's language, made from its fields (condition, tag, value, limit,
 * unit). The server's message is the GMP record and stays English: views show it as the title, and
 * show it as the text itself for alarms without fields to compose from.
 */

import { fmtNumber } from "../dom";
import { has, t } from "../i18n";
import { enumLabel } from "../i18n/enums";
import type { Alarm } from "./alarms";

type Fields = Pick<Alarm, "source" | "condition" | "tag" | "value" | "limitValue" | "message" | "roomCode" | "cameraCode">;

/**
 * The unit of a limit alarm when the caller has no plant index: the server writes it after the limit,
 * "<name> <value> <unit> above high limit <limit> <unit>" (twin/alarm_service.py).
 */
function unitFromMessage(a: Fields): string {
  if (a.limitValue === null || a.limitValue === undefined) return "";
  const lim = ` ${String(a.limitValue)} `;
  const i = a.message.lastIndexOf(lim);
  return i >= 0 ? a.message.slice(i + lim.length).trim() : "";
}

/** The text to show; `unit` from the plant index when the view has one. */
export function alarmText(a: Fields, unit?: string | null): string {
  if ((a.condition === "HIGH" || a.condition === "LOW") && a.tag && a.value !== null && a.value !== undefined
      && a.limitValue !== null && a.limitValue !== undefined) {
    const u = unit ?? unitFromMessage(a);
    const shown = u && u !== "state" ? ` ${u}` : "";
    return t(`alarm.msg.${a.condition}`, { tag: a.tag, value: fmtNumber(a.value, u), limit: fmtNumber(a.limitValue, u),
      unit: shown });
  }
  if (a.source === "VIDEO" && has(`enum.VideoAnalyticsKind.${a.condition}`)) {
    return t("alarm.msg.VIDEO", { what: enumLabel("VideoAnalyticsKind", a.condition), camera: a.cameraCode ?? "",
      room: a.roomCode ?? "" });
  }
  return a.message;
}
